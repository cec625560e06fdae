/* ml_blob.h - microlearn C runtime: the model-file container (docs/blob_format.md).
 *
 * A model file ("blob") is a 16-byte header, a table of sections and the sections:
 * one per pipeline step, each read by its family's loader (ml_<family>_from_section).
 * This header checks the container (magic, version, size, CRC-32, the section table)
 * and knows no family; ml_model.h loads and runs a whole file. Version-1 files (one
 * tree ensemble, microlearn 0.1) are recognised too: one trees section whose header
 * sits at byte 16, with offsets from the start of the file.
 *
 * Everything is read in place (flash or RAM): keep the blob alive and unchanged while
 * a model loaded from it is used, 4-byte aligned (ML_ERR_ALIGN otherwise).
 */
#ifndef ML_BLOB_H
#define ML_BLOB_H

#include "ml_common.h"

#define ML_BLOB_VERSION 2u          /* written by this version */
#define ML_BLOB_HEADER_BYTES 16u
#define ML_BLOB_SECTION_ENTRY_BYTES 16u
#define ML_BLOB_MAX_SECTIONS 16u

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

/* One entry of the section table. */
typedef struct ml_blob_section {
    uint32_t family;      /* family id: 1 trees, 2 linear, 3 svm, ... */
    uint32_t task;        /* ML_TASK_* of this step (pipeline steps before the last: transformer) */
    uint32_t offset;      /* from the start of the blob; 8-byte aligned */
    uint32_t size;        /* bytes */
    uint32_t n_features;  /* inputs of this step */
    uint32_t header;      /* where the family header starts inside the section (v1: 16) */
} ml_blob_section_t;

/* Check the container of a blob of `size` bytes: magic "MLRN", version (1 or 2), total
 * size, CRC-32 of bytes [16, total), alignment. On success *version, *n_sections and
 * *total (the blob's own size, <= size) are set.
 * Returns ML_OK, ML_ERR_NULL, ML_ERR_MODEL, ML_ERR_VERSION or ML_ERR_ALIGN. */
static inline int32_t ml_blob_check(const void *data, size_t size, uint32_t *version,
                                    uint32_t *n_sections, uint32_t *total)
{
    const uint8_t *p = (const uint8_t *)data;
    if (p == NULL || version == NULL || n_sections == NULL || total == NULL) {
        return ML_ERR_NULL;
    }
    if (size < ML_BLOB_HEADER_BYTES || p[0] != 'M' || p[1] != 'L' || p[2] != 'R' || p[3] != 'N') {
        return ML_ERR_MODEL;
    }
    const uint32_t v = ml_rd_u16(p + 4);
    if (v != 1u && v != 2u) {
        return ML_ERR_VERSION;
    }
    if (((uintptr_t)p & 3u) != 0u) {
        return ML_ERR_ALIGN;
    }
    const uint32_t n = ml_rd_u32(p + 8);
    if (n < ML_BLOB_HEADER_BYTES || (size_t)n > size) {
        return ML_ERR_MODEL;
    }
    if (ml_crc32(p + ML_BLOB_HEADER_BYTES, n - ML_BLOB_HEADER_BYTES) != ml_rd_u32(p + 12)) {
        return ML_ERR_MODEL;
    }
    const uint32_t ns = v == 1u ? 1u : ml_rd_u16(p + 6);
    if (v == 1u && ml_rd_u16(p + 6) != 1u) {
        return ML_ERR_UNSUPPORTED; /* version 1 held tree ensembles (family 1) only */
    }
    if (ns == 0u || ns > ML_BLOB_MAX_SECTIONS ||
        (v == 2u && ML_BLOB_HEADER_BYTES + ns * ML_BLOB_SECTION_ENTRY_BYTES > n)) {
        return ML_ERR_MODEL;
    }
    *version = v;
    *n_sections = ns;
    *total = n;
    return ML_OK;
}

/* Entry i of the section table of a checked blob (ml_blob_check) of `total` bytes:
 * sections lie inside the blob, after the table, in order, without overlap, 8-byte
 * aligned. Returns ML_OK or ML_ERR_MODEL. */
static inline int32_t ml_blob_section(const void *data, uint32_t version, uint32_t total,
                                      uint32_t i, ml_blob_section_t *s)
{
    const uint8_t *p = (const uint8_t *)data;
    if (version == 1u) {
        if (i != 0u) {
            return ML_ERR_MODEL;
        }
        s->family = 1u;
        s->task = ml_rd_u32(p + 16) == 0u ? (uint32_t)ML_TASK_CLASSIFIER
                                          : (uint32_t)ML_TASK_REGRESSOR;
        s->offset = 0u;
        s->size = total;
        s->n_features = ml_rd_u32(p + 20);
        s->header = 16u;
        return ML_OK;
    }
    const uint32_t ns = ml_rd_u16(p + 6);
    const uint8_t *e = p + ML_BLOB_HEADER_BYTES + i * ML_BLOB_SECTION_ENTRY_BYTES;
    uint32_t lo = ML_BLOB_HEADER_BYTES + ns * ML_BLOB_SECTION_ENTRY_BYTES;
    if (i >= ns) {
        return ML_ERR_MODEL;
    }
    if (i > 0u) { /* after the previous section */
        const uint8_t *prev = e - ML_BLOB_SECTION_ENTRY_BYTES;
        lo = ml_rd_u32(prev + 4) + ml_rd_u32(prev + 8);
    }
    s->family = ml_rd_u16(e);
    s->task = e[2];
    s->offset = ml_rd_u32(e + 4);
    s->size = ml_rd_u32(e + 8);
    s->n_features = ml_rd_u32(e + 12);
    s->header = 0u;
    if (e[3] != 0u || s->task > 3u || s->offset % 8u != 0u || s->offset < lo ||
        (uint64_t)s->offset + (uint64_t)s->size > (uint64_t)total || s->size == 0u ||
        s->n_features == 0u || s->n_features > 0x7FFFFFFFu) {
        return ML_ERR_MODEL;
    }
    return ML_OK;
}

#endif /* ML_BLOB_H */
