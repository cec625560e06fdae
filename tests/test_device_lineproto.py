"""ml_lineproto.h (the C side of the line protocol) against the Python side
(microlearn.device.lineproto): strict C99 with every compiler here and as C++, value parsing
(exact for the ``x`` + hex form, within 1 ulp for decimals), request parsing and checksums,
reply formatting byte for byte, and the line reader's limits."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

from microlearn.device.lineproto import check_line, crc16, encode_line, encode_value
from microlearn.host_build import RUNTIME_DIR

STRICT = ["-std=c99", "-Wall", "-Wextra", "-Wpedantic", "-Wconversion", "-Wdouble-promotion",
          "-Werror"]

CHECK_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ml_lineproto.h"

static unsigned bits_of(float v) { uint32_t b; memcpy(&b, &v, 4); return (unsigned)b; }

int main(void)
{
    static char in[8192], out[8192];
    while (fgets(in, sizeof in, stdin) != NULL) {
        size_t n = strlen(in);
        if (n > 0 && in[n - 1] == '\n') in[--n] = '\0';
        const char *arg = in + 2;
        size_t alen = n >= 2 ? n - 2 : 0;
        if (in[0] == 'V') {            /* V <token>: status bits */
            float v = 0.0f;
            int32_t st = ml_lp_parse_value(arg, alen, &v);
            printf("%d %08x\n", (int)st, bits_of(v));
        } else if (in[0] == 'Q') {     /* Q <n_max> <line>: status kind has_seq seq n bits... */
            float x[64];
            ml_lp_request_t r;
            char *rest;
            long n_max = strtol(arg, &rest, 10);
            rest++;
            int32_t st = ml_lp_parse(rest, strlen(rest), x, (int32_t)n_max, &r);
            printf("%d %d %d %u %d", (int)st, (int)r.kind, (int)r.has_seq, (unsigned)r.seq,
                   (int)r.n);
            for (int32_t i = 0; st == 0 && i < r.n; i++) printf(" %08x", bits_of(x[i]));
            printf("\n");
        } else if (in[0] == 'F' || in[0] == 'I') {  /* F|I <cap> <seq> <us> <n> <hex|int>... */
            float y[32];
            int32_t yi[32];
            char *p = (char *)arg;
            long cap = strtol(p, &p, 10);
            unsigned long seq = strtoul(p, &p, 10);
            long us = strtol(p, &p, 10), cnt = strtol(p, &p, 10);
            for (long i = 0; i < cnt; i++) {
                if (in[0] == 'F') {
                    uint32_t b = (uint32_t)strtoul(p, &p, 16);
                    memcpy(&y[i], &b, 4);
                } else {
                    yi[i] = (int32_t)strtol(p, &p, 10);
                }
            }
            size_t k = ml_lp_format_result(out, (size_t)cap, (uint32_t)seq, (int32_t)us, y,
                                           in[0] == 'I' ? yi : NULL, (int32_t)cnt);
            printf("%u|%.*s\n", (unsigned)k, (int)(k > 0 ? k - 1 : 0), out);
        } else if (in[0] == 'H') {     /* H <n_in> <n_out> <kind> */
            char *p = (char *)arg;
            long a = strtol(p, &p, 10), b = strtol(p, &p, 10);
            size_t k = ml_lp_format_hello(out, 64, (int32_t)a, (int32_t)b, p[1]);
            printf("%u|%.*s\n", (unsigned)k, (int)(k > 0 ? k - 1 : 0), out);
        } else if (in[0] == 'E') {     /* E <has_seq> <seq> <code> <text> */
            char *p = (char *)arg;
            long h = strtol(p, &p, 10);
            unsigned long seq = strtoul(p, &p, 10);
            long code = strtol(p, &p, 10);
            size_t k = ml_lp_format_error(out, 128, (int32_t)h, (uint32_t)seq, (int32_t)code,
                                          p + 1);
            printf("%u|%.*s\n", (unsigned)k, (int)(k > 0 ? k - 1 : 0), out);
        } else if (in[0] == 'C') {     /* C <text>: crc16 */
            printf("%04X\n", (unsigned)ml_lp_crc16(arg, alen));
        } else if (in[0] == 'L') {     /* L <cap> <text with \n as '|'>: results of pushes */
            char buf[64];
            ml_lp_reader_t r;
            char *p = (char *)arg;
            long cap = strtol(p, &p, 10);
            ml_lp_reader_init(&r, buf, (size_t)cap);
            for (p++; *p; p++) {
                int32_t got = ml_lp_reader_push(&r, *p == '|' ? '\n' : *p);
                if (got > 0) printf("[%s]", r.buf);
                else if (got < 0) printf("(%d)", (int)got);
            }
            printf("\n");
        }
    }
    return 0;
}
"""


@pytest.fixture(scope="module")
def checker(tmp_path_factory) -> Path:
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        pytest.skip("tool missing: host C compiler")
    d = tmp_path_factory.mktemp("lp")
    (d / "check.c").write_text(CHECK_C)
    exe = d / "check"
    subprocess.run([cc, "-std=c99", "-Wall", "-Wextra", "-Werror", f"-I{RUNTIME_DIR}",
                    str(d / "check.c"), "-o", str(exe)], check=True)
    return exe


def _ask(exe: Path, lines: list[str]) -> list[str]:
    proc = subprocess.run([str(exe)], input="\n".join(lines) + "\n", capture_output=True,
                          text=True, timeout=30, check=True)
    return proc.stdout.splitlines()


def _bits(v: float) -> int:
    return struct.unpack("<I", struct.pack("<f", v))[0]


COMPILERS = [
    ("gcc", []), ("clang", []), ("g++", ["-x", "c++", "-std=c++11"]),
    ("arm-none-eabi-gcc", ["-mcpu=cortex-m0plus", "-mthumb"]),
    ("arm-none-eabi-gcc", ["-mcpu=cortex-m4", "-mthumb", "-mfpu=fpv4-sp-d16",
                           "-mfloat-abi=hard"]),
]


@pytest.mark.parametrize("cc,extra", COMPILERS, ids=[" ".join([c, *e[:1]]) for c, e in COMPILERS])
def test_header_strict_c99_and_cxx(cc, extra, tmp_path):
    if shutil.which(cc) is None:
        pytest.skip(f"tool missing: {cc}")
    src = tmp_path / "use.c"
    # two translation units' worth of use in one file: every function referenced
    src.write_text('#include "ml_lineproto.h"\n#include "ml_lineproto.h"\n'
                   "int lp_use(void);\n"
                   "static int g(void *c) { (void)c; return -1; }\n"
                   "static void w(void *c, const char *s, size_t n) { (void)c; (void)s; "
                   "(void)n; }\n"
                   "static int32_t inf(void *u, const float *x, float *y, int32_t *yi, "
                   "int32_t *us) { (void)u; (void)x; (void)y; yi[0] = 1; *us = -1; "
                   "return 0; }\n"
                   "int lp_use(void) { char l[64], o[64]; float x[2]; int32_t yi[1];\n"
                   "  ml_lp_server_t s = { 2, 1, 'i', l, sizeof l, o, sizeof o, x, NULL, yi, "
                   "inf, NULL };\n"
                   "  ml_lp_io_t io = { g, w, NULL };\n"
                   "  return (int)ml_lp_serve(&s, &io); }\n")
    flags = [f for f in STRICT if not (cc == "g++" and f == "-std=c99")]
    subprocess.run([cc, *flags, *extra, f"-I{RUNTIME_DIR}", "-c", str(src), "-o",
                    str(tmp_path / "use.o")], check=True, capture_output=True, text=True)


def test_hex_values_are_exact(checker):
    rng = np.random.default_rng(1)
    words = list(rng.integers(0, 2**32, size=300, dtype=np.uint64)) + [
        0, 0x80000000, 0x7F800000, 0xFF800000, 0x00000001, 0x7F7FFFFF, 0x3F800000]
    out = _ask(checker, [f"V x{int(w):08X}" for w in words] + ["V x3f80000a"])
    for w, line in zip(words, out, strict=False):
        st, bits = line.split()
        assert st == "0" and int(bits, 16) == int(w)
    assert out[-1] == "0 3f80000a"  # lower-case hex digits too
    # and the Python encoder writes the same tokens
    assert encode_value(1.0) == "x3F800000" and encode_value(-2.5) == "xC0200000"


def test_decimal_values(checker):
    rng = np.random.default_rng(2)
    vals = np.concatenate([rng.normal(0, 1, 200), rng.normal(0, 1e6, 50),
                           10.0 ** rng.uniform(-30, 30, 100)]).astype(np.float32)
    tokens = [str(v) for v in vals] + [repr(float(v)) for v in vals[:50]]
    exact = {"0.5": 0.5, "-3": -3.0, "1e3": 1000.0, "2.5e-1": 0.25, "+7.": 7.0, ".125": 0.125,
             "0": 0.0, "1e400": float("inf"), "-1e400": float("-inf"), "1e-400": 0.0,
             "3.4028235e38": 3.4028234663852886e38}
    out = _ask(checker, [f"V {t}" for t in tokens] + [f"V {t}" for t in exact])
    for t, line in zip(tokens, out, strict=False):
        st, bits = line.split()
        want = _bits(float(np.float32(float(t))))
        assert st == "0" and abs(int(bits, 16) - want) <= 1, t  # within one ulp
    for (t, v), line in zip(exact.items(), out[len(tokens):], strict=True):
        assert line == f"0 {_bits(v):08x}", t


@pytest.mark.parametrize("token", ["", "abc", "1.2.3", "x1234567", "xGGGGGGGG", "1e", "--1",
                                   "+", ".", "1e+", "x123456789", "0x10", "1,5", "nan"])
def test_bad_values_rejected(checker, token):
    assert _ask(checker, [f"V {token}"])[0].split()[0] == "-2"


def test_requests(checker):
    good = encode_line("P 7 x3F800000 2.5").decode().rstrip("\n")
    bad_crc = good[:-1] + ("0" if good[-1] != "0" else "1")
    flipped = good.replace("P 7", "P 8")  # content changed, checksum kept
    cases = [
        ("2 ?", "0 1 0 0 0"),
        (f"2 {encode_line('?').decode().strip()}", "0 1 0 0 0"),
        (f"2 {good}", f"0 2 1 7 2 3f800000 {_bits(2.5):08x}"),
        ("2 P 4294967295 1 2", "-2 0 0 0 0"),  # sequence number out of range
        ("2 P 429496728 1 2", f"0 2 1 429496728 2 {_bits(1.0):08x} {_bits(2.0):08x}"),
        (f"2 {bad_crc}", "-1 0 0 0 0"),
        (f"2 {flipped}", "-1 0 0 0 0"),
        ("2 P 9 1", "-3 2 1 9 1"),  # too few values: the seq is echoed
        ("2 P 9 1 2 3", "-3 0 1 9 0"),  # too many
        ("2 P 9 1 zz", "-2 0 1 9 0"),
        ("2 P", "-5 0 0 0 0"),
        ("2 P ", "-2 0 0 0 0"),
        ("2 X 1 2", "-5 0 0 0 0"),
        ("2 P  3   1  2", f"0 2 1 3 2 {_bits(1.0):08x} {_bits(2.0):08x}"),  # extra spaces
    ]
    out = _ask(checker, [f"Q {c}" for c, _ in cases])
    assert out == [want for _, want in cases]


def test_replies_match_python_side(checker):
    ys = [1.0, -2.5, float(np.float32(0.1)), float("inf")]
    hexs = " ".join(f"{_bits(v):08x}" for v in ys)
    out = _ask(checker, [
        f"F 200 12 345 {len(ys)} {hexs}",
        "F 200 0 -1 1 3f800000",
        "I 200 4294967295 7 3 0 -5 2147483647",
        "I 20 1 1 3 100000 100000 100000",  # does not fit: 0
        "H 64 10 f",
        "E 0 0 4 line too long",
        "E 1 42 6 runtime error -2",
        "C 123456789",
    ])
    body0 = "R 12 345 " + " ".join(encode_value(v) for v in ys)
    assert out[0] == f"{len(encode_line(body0))}|{encode_line(body0).decode().rstrip()}"
    assert out[1].split("|")[1] == encode_line("R 0 - x3F800000").decode().rstrip()
    assert out[2].split("|")[1] == encode_line("R 4294967295 7 0 -5 2147483647").decode().rstrip()
    assert out[3] == "0|"
    assert out[4].split("|")[1] == encode_line("MLLP 1 64 10 f").decode().rstrip()
    assert out[5].split("|")[1] == encode_line("E - 4 line too long").decode().rstrip()
    assert out[6].split("|")[1] == encode_line("E 42 6 runtime error -2").decode().rstrip()
    assert out[7] == "29B1"  # the CRC-16/CCITT-FALSE check value
    assert crc16(b"123456789") == 0x29B1
    for line in out[:3]:
        check_line(line.split("|")[1].encode() + b"\n")  # the Python side accepts them


def test_line_reader(checker):
    out = _ask(checker, [
        "L 8 abcdefg|abcdefgh|xy|",     # cap 8: 7 characters fit, 8 do not
        "L 8 ab\r|||cd|",                # \r\n stripped, empty lines skipped
        "L 4 toolongline|ok|",           # the long line is discarded whole
    ])
    assert out == ["[abcdefg](-4)[xy]", "[ab][cd]", "(-4)[ok]"]


def test_doc_example_session_checksums():
    """The example session in docs/device.md is valid protocol (checksums included)."""
    doc = (Path(__file__).resolve().parent.parent / "docs" / "device.md").read_text()
    block = doc.split("Example session:")[1].split("```text")[1].split("```")[0]
    lines = [ln for ln in block.strip().splitlines()]
    assert len(lines) == 5
    for ln in lines:
        check_line(ln.encode() + b"\n")
