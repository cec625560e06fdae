/* ml_blob.h - microlearn C runtime: load a model blob in place (zero-copy).
 *
 * A model blob is microlearn's one binary model format (docs/blob_format.md):
 * a 16-byte common header, a family header and the family's tables, all
 * little-endian, every table 4-byte aligned. The loader validates everything
 * before the engine may use it: sizes, offsets, checksum, every feature index
 * and every child code (children must point forward, so routing always ends
 * at a leaf). A truncated or corrupted blob yields an error code; it can never
 * make the engine read out of bounds or loop forever.
 *
 * The tables are used where they are (flash or RAM): the blob must stay alive
 * and unchanged while the ml_trees_t is used, and start at a 4-byte aligned
 * address (ML_ERR_ALIGN otherwise: copy it to an aligned buffer).
 */
#ifndef ML_BLOB_H
#define ML_BLOB_H

#include "ml_trees.h"

#define ML_BLOB_VERSION 1u
#define ML_BLOB_FAMILY_TREES 1u
#define ML_BLOB_HEADER_BYTES 16u
#define ML_BLOB_TREES_HEADER_BYTES 96u
#define ML_ERR_ALIGN (-7) /* blob not 4-byte aligned in memory */

static inline uint32_t ml_blob_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static inline uint32_t ml_blob_u16(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8);
}

/* CRC-32 (IEEE 802.3, as zlib.crc32) of p[0..n-1]. */
static inline uint32_t ml_crc32(const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) {
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
        }
    }
    return ~c;
}

/* Check the common header of a blob of `size` bytes: magic "MLRN", version,
 * total size, CRC-32. On success stores the family id in *family and the
 * blob's own size (<= size) in *total. Returns ML_OK, ML_ERR_NULL,
 * ML_ERR_MODEL or ML_ERR_VERSION. */
static inline int32_t ml_blob_check(const void *data, size_t size, uint32_t *family,
                                    uint32_t *total)
{
    const uint8_t *p = (const uint8_t *)data;
    if (p == NULL || family == NULL || total == NULL) {
        return ML_ERR_NULL;
    }
    if (size < ML_BLOB_HEADER_BYTES || p[0] != 'M' || p[1] != 'L' || p[2] != 'R' || p[3] != 'N') {
        return ML_ERR_MODEL;
    }
    if (ml_blob_u16(p + 4) != ML_BLOB_VERSION) {
        return ML_ERR_VERSION;
    }
    const uint32_t n = ml_blob_u32(p + 8);
    if (n < ML_BLOB_HEADER_BYTES || (size_t)n > size) {
        return ML_ERR_MODEL;
    }
    if (ml_crc32(p + ML_BLOB_HEADER_BYTES, n - ML_BLOB_HEADER_BYTES) != ml_blob_u32(p + 12)) {
        return ML_ERR_MODEL;
    }
    *family = ml_blob_u16(p + 6);
    *total = n;
    return ML_OK;
}

/* 1 when [offset, offset + count * width) lies inside a blob of `total` bytes
 * and offset is a multiple of `align`. */
static inline int ml_blob_span_ok(uint32_t offset, uint32_t count, uint32_t width,
                                  uint32_t align, uint32_t total)
{
    const uint64_t end = (uint64_t)offset + (uint64_t)count * (uint64_t)width;
    return offset >= ML_BLOB_HEADER_BYTES + ML_BLOB_TREES_HEADER_BYTES && offset % align == 0u &&
           end <= (uint64_t)total;
}

/* Read entry i of a table of `width`-byte little-endian integers (signed when is_signed). */
static inline int64_t ml_blob_int(const uint8_t *table, uint32_t i, uint32_t width, int is_signed)
{
    const uint8_t *p = table + (size_t)i * width;
    if (width == 1u) {
        return is_signed ? (int64_t)(int8_t)p[0] : (int64_t)p[0];
    }
    if (width == 2u) {
        const uint32_t v = ml_blob_u16(p);
        return is_signed ? (int64_t)(int16_t)(uint16_t)v : (int64_t)v;
    }
    const uint32_t v = ml_blob_u32(p);
    return is_signed ? (int64_t)(int32_t)v : (int64_t)v;
}

/* Fill *m from a tree-ensemble blob, in place. Returns ML_OK, ML_ERR_NULL,
 * ML_ERR_MODEL (corrupt, truncated or inconsistent), ML_ERR_VERSION,
 * ML_ERR_UNSUPPORTED (not a tree ensemble) or ML_ERR_ALIGN. On error *m is
 * zeroed. Validation reads every node once: O(n_nodes). */
static inline int32_t ml_trees_from_blob(ml_trees_t *m, const void *data, size_t size)
{
    uint32_t family = 0, total = 0;
    if (m == NULL) {
        return ML_ERR_NULL;
    }
    {
        const ml_trees_t zero = {0, 0, 0, 0, 0, 0, 0.0f, NULL, NULL, NULL,
                                 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
        *m = zero;
    }
    int32_t status = ml_blob_check(data, size, &family, &total);
    if (status != ML_OK) {
        return status;
    }
    if (family != ML_BLOB_FAMILY_TREES) {
        return ML_ERR_UNSUPPORTED;
    }
    if (((uintptr_t)data & 3u) != 0u) {
        return ML_ERR_ALIGN;
    }
    {
        const uint16_t probe = 1u; /* tables are read in place: little-endian CPUs only */
        if (*(const uint8_t *)&probe != 1u) {
            return ML_ERR_UNSUPPORTED;
        }
    }
    if (total < ML_BLOB_HEADER_BYTES + ML_BLOB_TREES_HEADER_BYTES) {
        return ML_ERR_MODEL;
    }
    const uint8_t *b = (const uint8_t *)data;
    const uint8_t *h = b + ML_BLOB_HEADER_BYTES;
    const uint32_t kind = ml_blob_u32(h + 0), n_features = ml_blob_u32(h + 4);
    const uint32_t n_outputs = ml_blob_u32(h + 8), n_trees = ml_blob_u32(h + 12);
    const uint32_t n_nodes = ml_blob_u32(h + 16), n_rows = ml_blob_u32(h + 20);
    const uint32_t leaf_base = ml_blob_u32(h + 24);
    const uint32_t fb = h[28], cb = h[29], has_nan = h[30];
    const uint32_t ecb = cb == 0u ? 1u : cb; /* bytes per left/right entry */
    const uint32_t rb = cb == 0u ? 4u : cb;  /* bytes per root (compact form: int32) */
    const uint32_t o_feature = ml_blob_u32(h + 32), o_threshold = ml_blob_u32(h + 36);
    const uint32_t o_left = ml_blob_u32(h + 40), o_right = ml_blob_u32(h + 44);
    const uint32_t o_roots = ml_blob_u32(h + 48), o_nan = ml_blob_u32(h + 52);
    const uint32_t o_leaves = ml_blob_u32(h + 56);
    const uint32_t inv_bits = ml_blob_u32(h + 60);
    const uint32_t nnz = ml_blob_u32(h + 64); /* 0: dense leaf rows */
    const uint32_t o_start = ml_blob_u32(h + 68), o_index = ml_blob_u32(h + 72);
    const uint32_t thr_kind = ml_blob_u32(h + 76); /* 0: float per node, 1: u8 index */
    const uint32_t n_thr_values = ml_blob_u32(h + 80), o_thr_values = ml_blob_u32(h + 84);
    float inv_n_trees;
    const uint32_t limit = 0x7FFFFFFFu;

    if (kind > 1u || n_features == 0u || n_features > limit || n_outputs == 0u ||
        n_outputs > limit || n_trees == 0u || n_trees > limit || n_nodes > limit ||
        n_rows > limit || h[31] != 0u || has_nan > 1u || thr_kind > 1u ||
        ml_blob_u32(h + 88) != 0u || ml_blob_u32(h + 92) != 0u) {
        return ML_ERR_MODEL;
    }
    if (leaf_base != (kind == 0u ? n_outputs : 0u)) {
        return ML_ERR_MODEL;
    }
    if ((fb != 1u && fb != 2u && fb != 4u) || (cb > 2u && cb != 4u)) {
        return ML_ERR_MODEL;
    }
    const uint64_t n_leaf_ids = (uint64_t)leaf_base + (uint64_t)n_rows;
    if (n_leaf_ids == 0u || n_leaf_ids > limit) {
        return ML_ERR_MODEL;
    }
    if ((uint64_t)n_rows * (uint64_t)n_outputs > limit ||
        !ml_blob_span_ok(o_roots, n_trees, rb, rb, total)) {
        return ML_ERR_MODEL;
    }
    if (nnz == 0u) {
        if (n_rows > 0u && !ml_blob_span_ok(o_leaves, n_rows * n_outputs, 4u, 4u, total)) {
            return ML_ERR_MODEL;
        }
    } else {
        /* sparse rows: starts 0 .. nnz, non-decreasing; output indices in range */
        if (nnz > 0xFFFFu || n_rows == 0u || n_rows >= 0xFFFFu ||
            !ml_blob_span_ok(o_leaves, nnz, 4u, 4u, total) ||
            !ml_blob_span_ok(o_start, n_rows + 1u, 2u, 2u, total) ||
            !ml_blob_span_ok(o_index, nnz, 2u, 2u, total)) {
            return ML_ERR_MODEL;
        }
        if (ml_blob_u16(b + o_start) != 0u || ml_blob_u16(b + o_start + 2u * n_rows) != nnz) {
            return ML_ERR_MODEL;
        }
        for (uint32_t r = 0; r < n_rows; r++) {
            if (ml_blob_u16(b + o_start + 2u * r) > ml_blob_u16(b + o_start + 2u * r + 2u)) {
                return ML_ERR_MODEL;
            }
        }
        for (uint32_t j = 0; j < nnz; j++) {
            if (ml_blob_u16(b + o_index + 2u * j) >= n_outputs) {
                return ML_ERR_MODEL;
            }
        }
    }
    if (n_nodes > 0u &&
        (!ml_blob_span_ok(o_feature, n_nodes, fb, fb, total) ||
         (thr_kind == 0u && !ml_blob_span_ok(o_threshold, n_nodes, 4u, 4u, total)) ||
         (thr_kind == 1u && (n_thr_values == 0u || n_thr_values > 256u ||
                             !ml_blob_span_ok(o_threshold, n_nodes, 1u, 1u, total) ||
                             !ml_blob_span_ok(o_thr_values, n_thr_values, 4u, 4u, total))) ||
         !ml_blob_span_ok(o_left, n_nodes, ecb, ecb, total) ||
         !ml_blob_span_ok(o_right, n_nodes, ecb, ecb, total) ||
         (has_nan && !ml_blob_span_ok(o_nan, (n_nodes + 7u) / 8u, 1u, 1u, total)))) {
        return ML_ERR_MODEL;
    }
    /* every node: feature (and threshold index) in range; children are leaves in range
     * or later nodes */
    for (uint32_t n = 0; n < n_nodes; n++) {
        if (thr_kind == 1u && b[o_threshold + n] >= n_thr_values) {
            return ML_ERR_MODEL;
        }
        if ((uint64_t)ml_blob_int(b + o_feature, n, fb, 0) >= (uint64_t)n_features) {
            return ML_ERR_MODEL;
        }
        for (int side = 0; side < 2; side++) {
            int64_t c = ml_blob_int(b + (side ? o_right : o_left), n, ecb, cb != 0u);
            if (cb == 0u) { /* compact: leaf id below n_leaf_ids, else relative node */
                c = c < (int64_t)n_leaf_ids ? -c - 1 : (int64_t)n + (c - (int64_t)n_leaf_ids) + 1;
            }
            if (c >= 0 ? (c <= (int64_t)n || c >= (int64_t)n_nodes)
                       : (-c - 1 >= (int64_t)n_leaf_ids)) {
                return ML_ERR_MODEL;
            }
        }
    }
    if (cb == 0u && n_leaf_ids > 255u) {
        return ML_ERR_MODEL;
    }
    for (uint32_t t = 0; t < n_trees; t++) {
        const int64_t c = ml_blob_int(b + o_roots, t, rb, 1);
        if (c >= 0 ? c >= (int64_t)n_nodes : (-c - 1 >= (int64_t)n_leaf_ids)) {
            return ML_ERR_MODEL;
        }
    }
    /* 1/n_trees as float32: must be the correctly rounded reciprocal (within an ulp) */
    {
        union { uint32_t u; float f; } conv;
        conv.u = inv_bits;
        inv_n_trees = conv.f;
        const float one = inv_n_trees * (float)n_trees;
        if (!(one >= 0.99999976f && one <= 1.0000002f)) {
            return ML_ERR_MODEL;
        }
    }
    m->n_features = (int32_t)n_features;
    m->n_outputs = (int32_t)n_outputs;
    m->n_trees = (int32_t)n_trees;
    m->n_nodes = (int32_t)n_nodes;
    m->n_leaf_rows = (int32_t)n_rows;
    m->leaf_base = (int32_t)leaf_base;
    m->inv_n_trees = inv_n_trees;
    m->leaf_values = n_rows > 0u ? (const float *)(const void *)(b + o_leaves) : NULL;
    m->leaf_start = nnz > 0u ? (const uint16_t *)(const void *)(b + o_start) : NULL;
    m->leaf_index = nnz > 0u ? (const uint16_t *)(const void *)(b + o_index) : NULL;
    m->feature_bytes = (int32_t)fb;
    m->child_bytes = (int32_t)cb;
    m->feature = n_nodes > 0u ? (const void *)(b + o_feature) : NULL;
    if (n_nodes > 0u && thr_kind == 0u) {
        m->threshold = (const float *)(const void *)(b + o_threshold);
    } else if (n_nodes > 0u) {
        m->threshold_index = b + o_threshold;
        m->threshold_values = (const float *)(const void *)(b + o_thr_values);
    }
    m->left = n_nodes > 0u ? (const void *)(b + o_left) : NULL;
    m->right = n_nodes > 0u ? (const void *)(b + o_right) : NULL;
    m->roots = (const void *)(b + o_roots);
    m->nan_left = (n_nodes > 0u && has_nan) ? b + o_nan : NULL;
    return ML_OK;
}

/* 1 when the blob-loaded ensemble *m is a classifier (one-hot leaf ids in use). */
static inline int ml_trees_is_classifier(const ml_trees_t *m)
{
    return m->leaf_base > 0;
}

#endif /* ML_BLOB_H */
