/* ml_lineproto.h - the microlearn line protocol (version 1) for C firmware: rows in as text
 * lines, predictions out, one request per line. `microlearn device run --protocol line`
 * speaks the host side. Header-only C99 (also C++), no malloc, no globals, no stdio: the
 * firmware hands in its buffers and a getc/write pair (UART, USB CDC, a pipe).
 *
 * The protocol (full text: docs/device.md):
 *     host -> device   "?"                          hello request
 *                      "P <seq> <v1> ... <vN>"      one inference on N input values
 *     device -> host   "MLLP 1 <n_in> <n_out> <i|f>"  hello (also sent once at start-up)
 *                      "R <seq> <us|-> <y1> ... <yM>" result; us: microseconds or "-"
 *                      "E <seq|-> <code> <text>"     error (codes ML_LP_E_*)
 *                      "# anything"                  log line, ignored by the host
 * Every line ends with "\n" ("\r\n" accepted) and may end with " *HHHH": CRC-16/CCITT-FALSE
 * (poly 0x1021, init 0xFFFF) of the bytes before " *", 4 upper-case hex digits. The device
 * always appends it; it checks it on requests that carry one. Values are decimal numbers
 * ("-1.25e-3", "7") or "x" + 8 hex digits, the IEEE-754 binary32 bits (exact; the host tool
 * sends and the device answers floats this way). Integer outputs (kind 'i') are decimal.
 *
 * Usage (firmware):
 *     static int32_t infer(void *user, const float *x, float *y, int32_t *yi, int32_t *us)
 *     { yi[0] = my_model_predict(x); *us = -1; return 0; }    // <0: error code
 *     char line[512], out[256]; float x[4]; int32_t yi[1];
 *     ml_lp_server_t s = { 4, 1, 'i', line, sizeof line, out, sizeof out, x, NULL, yi,
 *                          infer, NULL };
 *     ml_lp_io_t io = { uart_getc, uart_write, NULL };
 *     ml_lp_serve(&s, &io);      // returns when getc reports the end of input (-1)
 * or drive it yourself: ml_lp_reader_push() per received byte, ml_lp_handle() per line.
 */
#ifndef ML_LINEPROTO_H
#define ML_LINEPROTO_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ML_LP_VERSION 1

/* Request kinds (ml_lp_request_t.kind). */
#define ML_LP_HELLO   1
#define ML_LP_PREDICT 2

/* Error codes: returned negated by the functions, sent positive in "E" lines. */
#define ML_LP_E_CRC      1  /* the line's checksum does not match */
#define ML_LP_E_PARSE    2  /* a value or the sequence number does not parse */
#define ML_LP_E_COUNT    3  /* wrong number of values for the model */
#define ML_LP_E_TOO_LONG 4  /* the line did not fit the line buffer (discarded) */
#define ML_LP_E_COMMAND  5  /* unknown request */
#define ML_LP_E_MODEL    6  /* the model failed on the row (runtime error code in the text) */

/* CRC-16/CCITT-FALSE of n bytes (poly 0x1021, init 0xFFFF, no reflection, no final xor). */
static inline uint16_t ml_lp_crc16(const char *s, size_t n)
{
    uint16_t crc = 0xFFFFu;
    for (size_t i = 0; i < n; i++) {
        crc = (uint16_t)(crc ^ (uint16_t)((uint16_t)(unsigned char)s[i] << 8));
        for (int b = 0; b < 8; b++) {
            crc = (crc & 0x8000u) ? (uint16_t)((uint16_t)(crc << 1) ^ 0x1021u)
                                  : (uint16_t)(crc << 1);
        }
    }
    return crc;
}

/* ---- receiving lines ------------------------------------------------------------------ */

/* Collects bytes into a caller buffer until "\n". */
typedef struct ml_lp_reader {
    char *buf;        /* cap bytes, caller-owned */
    size_t cap;       /* line length limit + 1 (for the terminating NUL) */
    size_t len;
    int32_t overflow; /* the current line exceeded cap - 1 bytes */
} ml_lp_reader_t;

static inline void ml_lp_reader_init(ml_lp_reader_t *r, char *buf, size_t cap)
{
    r->buf = buf;
    r->cap = cap;
    r->len = 0;
    r->overflow = 0;
}

/* Add one received byte. Returns 0 while the line is incomplete (and for empty lines, which
 * are skipped); the line's length (> 0) when "\n" completed a line, which is then in r->buf
 * NUL-terminated without "\r\n" (valid until the next push); -ML_LP_E_TOO_LONG when a line
 * longer than cap - 1 ended (it was discarded). */
static inline int32_t ml_lp_reader_push(ml_lp_reader_t *r, int c)
{
    if (c == '\n') {
        const int32_t over = r->overflow;
        size_t n = r->len;
        r->len = 0;
        r->overflow = 0;
        if (over) {
            return -ML_LP_E_TOO_LONG;
        }
        if (n > 0 && r->buf[n - 1] == '\r') {
            n--;
        }
        r->buf[n] = '\0';
        return (int32_t)n;
    }
    if (r->overflow || r->cap == 0) {
        r->overflow = 1;
        return 0;
    }
    if (r->len + 1 >= r->cap) {
        r->overflow = 1;
        return 0;
    }
    r->buf[r->len++] = (char)c;
    return 0;
}

/* ---- parsing requests ----------------------------------------------------------------- */

typedef struct ml_lp_request {
    int32_t kind;  /* ML_LP_HELLO or ML_LP_PREDICT */
    uint32_t seq;  /* ML_LP_PREDICT: the sequence number to echo */
    int32_t has_seq; /* 1 once seq parsed (so errors can echo it) */
    int32_t n;     /* ML_LP_PREDICT: values stored in x */
} ml_lp_request_t;

static inline int ml_lp__hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Parse one value token s[0..n): "x" + 8 hex digits (exact binary32 bits) or a decimal
 * number (sign, digits, optional fraction and exponent; rounded through double, exact for
 * values with up to 15 significant digits and moderate exponents). 0 or -ML_LP_E_PARSE. */
static inline int32_t ml_lp_parse_value(const char *s, size_t n, float *value)
{
    if (n == 9 && (s[0] == 'x' || s[0] == 'X')) {
        uint32_t bits = 0;
        for (size_t i = 1; i < 9; i++) {
            const int h = ml_lp__hexval(s[i]);
            if (h < 0) {
                return -ML_LP_E_PARSE;
            }
            bits = (bits << 4) | (uint32_t)h;
        }
        memcpy(value, &bits, sizeof bits);
        return 0;
    }
    size_t i = 0;
    int neg = 0;
    if (i < n && (s[i] == '-' || s[i] == '+')) {
        neg = s[i] == '-';
        i++;
    }
    uint64_t mant = 0;
    int32_t exp10 = 0, digits = 0, sig = 0;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, digits++) {
        if (sig < 19) {
            mant = mant * 10u + (uint64_t)(s[i] - '0');
            sig += (mant != 0u);
        } else {
            exp10++;
        }
    }
    if (i < n && s[i] == '.') {
        for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++, digits++) {
            if (sig < 19) {
                mant = mant * 10u + (uint64_t)(s[i] - '0');
                sig += (mant != 0u);
                exp10--;
            }
        }
    }
    if (digits == 0) {
        return -ML_LP_E_PARSE;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        int eneg = 0;
        int32_t e = 0, edigits = 0;
        i++;
        if (i < n && (s[i] == '-' || s[i] == '+')) {
            eneg = s[i] == '-';
            i++;
        }
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, edigits++) {
            if (e < 10000) {
                e = e * 10 + (s[i] - '0');
            }
        }
        if (edigits == 0) {
            return -ML_LP_E_PARSE;
        }
        exp10 += eneg ? -e : e;
    }
    if (i != n) {
        return -ML_LP_E_PARSE;
    }
    double v = (double)mant;
    if (mant != 0u) {
        /* scale by 10^|exp10| with exact powers 1e0..1e22 in one step where possible */
        static const double p10[] = { 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9,
                                      1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18,
                                      1e19, 1e20, 1e21, 1e22 };
        int32_t e = exp10 < 0 ? -exp10 : exp10;
        while (e > 0 && v != 0.0 && v < 1e300) {
            const int32_t step = e > 22 ? 22 : e;
            v = exp10 < 0 ? v / p10[step] : v * p10[step];
            e -= step;
        }
    }
    if (v >= 3.4028235677973366e38) { /* rounds beyond FLT_MAX: infinity (no UB in the cast) */
        const uint32_t inf = neg ? 0xFF800000u : 0x7F800000u;
        memcpy(value, &inf, sizeof inf);
        return 0;
    }
    *value = (float)(neg ? -v : v);
    return 0;
}

/* Parse a request line (without "\n"). Checks the " *HHHH" checksum if present. x receives
 * up to n_max values. 0 with *req filled, or -ML_LP_E_CRC / _PARSE / _COUNT / _COMMAND
 * (req->seq and req->has_seq are set as soon as the sequence number parsed, so errors can
 * echo it). */
static inline int32_t ml_lp_parse(const char *line, size_t len, float *x, int32_t n_max,
                                  ml_lp_request_t *req)
{
    req->kind = 0;
    req->seq = 0;
    req->has_seq = 0;
    req->n = 0;
    if (len >= 6 && line[len - 6] == ' ' && line[len - 5] == '*') {
        uint16_t want = 0;
        for (size_t i = len - 4; i < len; i++) {
            const int h = ml_lp__hexval(line[i]);
            if (h < 0) {
                return -ML_LP_E_CRC;
            }
            want = (uint16_t)((uint16_t)(want << 4) | (uint16_t)h);
        }
        len -= 6;
        if (ml_lp_crc16(line, len) != want) {
            return -ML_LP_E_CRC;
        }
    }
    if (len == 1 && line[0] == '?') {
        req->kind = ML_LP_HELLO;
        return 0;
    }
    if (len < 2 || line[0] != 'P' || line[1] != ' ') {
        return -ML_LP_E_COMMAND;
    }
    size_t i = 2;
    int32_t field = 0;
    while (i < len) {
        while (i < len && line[i] == ' ') {
            i++;
        }
        if (i >= len) {
            break;
        }
        size_t j = i;
        while (j < len && line[j] != ' ') {
            j++;
        }
        if (field == 0) {
            uint32_t seq = 0;
            for (size_t k = i; k < j; k++) {
                if (line[k] < '0' || line[k] > '9' || seq > 429496728u) {
                    return -ML_LP_E_PARSE;
                }
                seq = seq * 10u + (uint32_t)(line[k] - '0');
            }
            req->seq = seq;
            req->has_seq = 1;
        } else {
            float v = 0.0f;
            if (field > n_max) {
                return -ML_LP_E_COUNT;
            }
            if (ml_lp_parse_value(line + i, j - i, &v) != 0) {
                return -ML_LP_E_PARSE;
            }
            x[field - 1] = v;
        }
        field++;
        i = j;
    }
    if (field == 0) {
        return -ML_LP_E_PARSE;
    }
    req->kind = ML_LP_PREDICT;
    req->n = field - 1;
    return req->n == n_max ? 0 : -ML_LP_E_COUNT;
}

/* ---- formatting replies --------------------------------------------------------------- */

/* Appends to a caller buffer; any overflow makes ml_lp__end return 0. */
typedef struct ml_lp__out {
    char *buf;
    size_t cap;
    size_t len;
    int32_t overflow;
} ml_lp__out_t;

static inline void ml_lp__put(ml_lp__out_t *o, const char *s, size_t n)
{
    if (o->overflow || o->len + n > o->cap) {
        o->overflow = 1;
        return;
    }
    memcpy(o->buf + o->len, s, n);
    o->len += n;
}

static inline void ml_lp__put_str(ml_lp__out_t *o, const char *s)
{
    ml_lp__put(o, s, strlen(s));
}

static inline void ml_lp__put_u32(ml_lp__out_t *o, uint32_t v)
{
    char tmp[10];
    size_t n = 0;
    do {
        tmp[sizeof tmp - 1 - n] = (char)('0' + (char)(v % 10u));
        v /= 10u;
        n++;
    } while (v != 0u);
    ml_lp__put(o, tmp + sizeof tmp - n, n);
}

static inline void ml_lp__put_i32(ml_lp__out_t *o, int32_t v)
{
    if (v < 0) {
        ml_lp__put(o, "-", 1);
        ml_lp__put_u32(o, (uint32_t)0 - (uint32_t)v);
    } else {
        ml_lp__put_u32(o, (uint32_t)v);
    }
}

static inline void ml_lp__put_hex(ml_lp__out_t *o, uint32_t v, int digits)
{
    static const char hex[] = "0123456789ABCDEF";
    char tmp[8];
    for (int k = 0; k < digits; k++) {
        tmp[k] = hex[(v >> (4 * (digits - 1 - k))) & 0xFu];
    }
    ml_lp__put(o, tmp, (size_t)digits);
}

static inline void ml_lp__put_f32(ml_lp__out_t *o, float v)
{
    uint32_t bits;
    memcpy(&bits, &v, sizeof bits);
    ml_lp__put(o, "x", 1);
    ml_lp__put_hex(o, bits, 8);
}

/* Append " *HHHH\n"; the line's length, or 0 if it did not fit. */
static inline size_t ml_lp__end(ml_lp__out_t *o)
{
    const uint16_t crc = ml_lp_crc16(o->buf, o->overflow ? 0 : o->len);
    ml_lp__put(o, " *", 2);
    ml_lp__put_hex(o, crc, 4);
    ml_lp__put(o, "\n", 1);
    return o->overflow ? 0u : o->len;
}

/* "MLLP 1 <n_in> <n_out> <kind>" into out[0..cap); kind 'i' (integer outputs) or 'f'.
 * Returns the line's length including "\n", or 0 if cap is too small. */
static inline size_t ml_lp_format_hello(char *out, size_t cap, int32_t n_in, int32_t n_out,
                                        char kind)
{
    ml_lp__out_t o = { out, cap, 0, 0 };
    ml_lp__put_str(&o, "MLLP ");
    ml_lp__put_u32(&o, ML_LP_VERSION);
    ml_lp__put(&o, " ", 1);
    ml_lp__put_i32(&o, n_in);
    ml_lp__put(&o, " ", 1);
    ml_lp__put_i32(&o, n_out);
    ml_lp__put(&o, " ", 1);
    ml_lp__put(&o, &kind, 1);
    return ml_lp__end(&o);
}

/* "R <seq> <us> <y...>": n values from yi (decimal, if yi != NULL) or y (binary32 bits);
 * us < 0 is sent as "-". Returns the length including "\n", or 0 if cap is too small. */
static inline size_t ml_lp_format_result(char *out, size_t cap, uint32_t seq, int32_t us,
                                         const float *y, const int32_t *yi, int32_t n)
{
    ml_lp__out_t o = { out, cap, 0, 0 };
    ml_lp__put(&o, "R ", 2);
    ml_lp__put_u32(&o, seq);
    ml_lp__put(&o, " ", 1);
    if (us < 0) {
        ml_lp__put(&o, "-", 1);
    } else {
        ml_lp__put_i32(&o, us);
    }
    for (int32_t i = 0; i < n; i++) {
        ml_lp__put(&o, " ", 1);
        if (yi != NULL) {
            ml_lp__put_i32(&o, yi[i]);
        } else {
            ml_lp__put_f32(&o, y[i]);
        }
    }
    return ml_lp__end(&o);
}

/* "E <seq|-> <code> <text>" (has_seq = 0 sends "-"). Returns the length or 0. */
static inline size_t ml_lp_format_error(char *out, size_t cap, int32_t has_seq, uint32_t seq,
                                        int32_t code, const char *text)
{
    ml_lp__out_t o = { out, cap, 0, 0 };
    ml_lp__put(&o, "E ", 2);
    if (has_seq) {
        ml_lp__put_u32(&o, seq);
    } else {
        ml_lp__put(&o, "-", 1);
    }
    ml_lp__put(&o, " ", 1);
    ml_lp__put_i32(&o, code);
    ml_lp__put(&o, " ", 1);
    ml_lp__put_str(&o, text != NULL ? text : "");
    return ml_lp__end(&o);
}

/* ---- a server loop -------------------------------------------------------------------- */

/* The firmware's byte I/O: getc returns the next received byte (0..255, blocking) or -1 at
 * the end of input; write sends n bytes. */
typedef struct ml_lp_io {
    int (*getc)(void *ctx);
    void (*write)(void *ctx, const char *s, size_t n);
    void *ctx;
} ml_lp_io_t;

/* One inference: x has n_in values; fill y (kind 'f') or yi (kind 'i') with n_out values,
 * and *us with the microseconds it took (or -1: no clock). Return 0, or a negative runtime
 * error code (sent in an "E <seq> 6 runtime error <code>" line). */
typedef int32_t (*ml_lp_infer_fn)(void *user, const float *x, float *y, int32_t *yi,
                                  int32_t *us);

typedef struct ml_lp_server {
    int32_t n_in;         /* model inputs */
    int32_t n_out;        /* values per result */
    char kind;            /* 'i': integer results in yi; 'f': float results in y */
    char *line;           /* request buffer: 24 + 10 * n_in bytes for hex-value requests */
    size_t line_cap;
    char *out;            /* reply buffer: 32 + 12 * n_out bytes is enough */
    size_t out_cap;
    float *x;             /* n_in floats */
    float *y;             /* n_out floats (kind 'f'), else may be NULL */
    int32_t *yi;          /* n_out ints (kind 'i'), else may be NULL */
    ml_lp_infer_fn infer;
    void *user;           /* passed to infer */
} ml_lp_server_t;

static inline void ml_lp__send_error(const ml_lp_server_t *s, const ml_lp_io_t *io,
                                     int32_t has_seq, uint32_t seq, int32_t code,
                                     const char *text)
{
    const size_t n = ml_lp_format_error(s->out, s->out_cap, has_seq, seq, code, text);
    if (n > 0u) {
        io->write(io->ctx, s->out, n);
    }
}

/* Send the hello line. */
static inline void ml_lp_hello(const ml_lp_server_t *s, const ml_lp_io_t *io)
{
    const size_t n = ml_lp_format_hello(s->out, s->out_cap, s->n_in, s->n_out, s->kind);
    if (n > 0u) {
        io->write(io->ctx, s->out, n);
    }
}

/* Answer one received line (from ml_lp_reader_push, or -ML_LP_E_TOO_LONG). Returns 1 if an
 * inference ran, 0 otherwise. */
static inline int32_t ml_lp_handle(const ml_lp_server_t *s, const ml_lp_io_t *io,
                                   const char *line, int32_t len)
{
    static const char *const texts[] = { "", "bad checksum", "bad value", "wrong count",
                                         "line too long", "unknown request", "" };
    ml_lp_request_t req;
    if (len < 0) {
        ml_lp__send_error(s, io, 0, 0, -len, texts[-len <= 6 ? -len : 0]);
        return 0;
    }
    if (len > 0 && line[0] == '#') {
        return 0;
    }
    const int32_t st = ml_lp_parse(line, (size_t)len, s->x, s->n_in, &req);
    if (st < 0) {
        ml_lp__send_error(s, io, req.has_seq, req.seq, -st,
                          texts[-st <= 6 ? -st : 0]);
        return 0;
    }
    if (req.kind == ML_LP_HELLO) {
        ml_lp_hello(s, io);
        return 0;
    }
    int32_t us = -1;
    const int32_t r = s->infer(s->user, s->x, s->y, s->yi, &us);
    if (r < 0) {
        char text[32] = "runtime error ";
        ml_lp__out_t o = { text, sizeof text - 1, 14, 0 };
        ml_lp__put_i32(&o, r);
        text[o.len] = '\0';
        ml_lp__send_error(s, io, 1, req.seq, ML_LP_E_MODEL, text);
        return 0;
    }
    const size_t n = ml_lp_format_result(s->out, s->out_cap, req.seq, us, s->y,
                                         s->kind == 'i' ? s->yi : NULL, s->n_out);
    if (n == 0u) {
        ml_lp__send_error(s, io, 1, req.seq, ML_LP_E_TOO_LONG, "reply buffer too small");
        return 0;
    }
    io->write(io->ctx, s->out, n);
    return 1;
}

/* Send the hello line, then answer requests until io->getc returns -1. Returns the number
 * of inferences run. */
static inline int32_t ml_lp_serve(const ml_lp_server_t *s, const ml_lp_io_t *io)
{
    ml_lp_reader_t r;
    int32_t count = 0;
    ml_lp_reader_init(&r, s->line, s->line_cap);
    ml_lp_hello(s, io);
    for (;;) {
        const int c = io->getc(io->ctx);
        if (c < 0) {
            return count;
        }
        const int32_t len = ml_lp_reader_push(&r, c);
        if (len != 0) {
            count += ml_lp_handle(s, io, r.buf, len);
        }
    }
}

#ifdef __cplusplus
}
#endif

#endif /* ML_LINEPROTO_H */
