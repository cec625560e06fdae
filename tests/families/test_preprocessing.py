"""Preprocessing family (scalers, Normalizer, selectors, PCA / TruncatedSVD): C vs
scikit-learn.

The C is the family's generated body (tables + ``M__transform`` on
``ml_preprocessing.h``) compiled into a small shared library together with the
model-file section path (``ml_preprocessing_from_section`` + the engine), and called
through ctypes. Scalers and selectors must be bit-identical to scikit-learn's transform
of the float32 input; the other outputs within the bounds derived in
``microlearn/families/preprocessing/convert.py`` (:func:`tolerance`).
"""

from __future__ import annotations

import ctypes
import struct
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_iris, load_wine
from sklearn.decomposition import PCA, IncrementalPCA, TruncatedSVD
from sklearn.feature_selection import (
    RFE,
    SelectFromModel,
    SelectKBest,
    SelectPercentile,
    SequentialFeatureSelector,
    VarianceThreshold,
    f_classif,
)
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import (
    MaxAbsScaler,
    MinMaxScaler,
    Normalizer,
    RobustScaler,
    StandardScaler,
)
from sklearn.tree import DecisionTreeClassifier

from microlearn.errors import ConversionError
from microlearn.families.preprocessing import FAMILY, reference_transform, tolerance
from microlearn.families.preprocessing.convert import from_sklearn

RUNTIME = Path(__file__).resolve().parents[2] / "microlearn" / "runtime"
CFLAGS = ["-std=c99", "-Wall", "-Wextra", "-Wpedantic", "-Wconversion", "-Wdouble-promotion",
          "-Werror", "-O2", "-ffp-contract=off", "-fPIC", "-shared"]

_ENGINE = r"""
#include "ml_common.h"
#include "ml_preprocessing.h"
int32_t t_load(const uint8_t *sec, uint32_t size, int32_t *info)
{
    ml_preprocessing_t m;
    ml_info_t i;
    const int32_t s = ml_preprocessing_from_section(&m, sec, size);
    if (s != ML_OK) return s;
    ml_preprocessing_info(&m, &i);
    info[0] = i.task; info[1] = i.n_features; info[2] = i.n_outputs;
    info[3] = i.scratch_floats;
    return ML_OK;
}
/* transform n rows of x through a section; scratch holds >= info.scratch_floats floats */
int32_t t_section(const uint8_t *sec, uint32_t size, const float *x, int32_t n,
                  int32_t n_features, int32_t n_outputs, float *out, float *scratch)
{
    ml_preprocessing_t m;
    ml_info_t info;
    int32_t s = ml_preprocessing_from_section(&m, sec, size);
    if (s != ML_OK) return s;
    ml_preprocessing_info(&m, &info);
    if (info.n_features != n_features || info.n_outputs != n_outputs) return -100;
    if (ml_preprocessing_predict(&m, x, scratch) != ML_ERR_UNSUPPORTED ||
        ml_preprocessing_regress(&m, x, out, scratch) != ML_ERR_UNSUPPORTED) return -101;
    for (int32_t r = 0; r < n; r++) {
        s = ml_preprocessing_transform(&m, x + (size_t)r * (size_t)n_features,
                                       out + (size_t)r * (size_t)n_outputs,
                                       info.scratch_floats ? scratch : NULL);
        if (s != ML_OK) return s;
    }
    return ML_OK;
}
"""

_HEADER = r"""
#include "ml_common.h"
#include "ml_preprocessing.h"
%(body)s
int32_t t_header(const float *x, int32_t n, float *out)
{
    for (int32_t r = 0; r < n; r++) M__transform(x + (size_t)r * %(nf)d, out + (size_t)r * %(no)d);
    return 0;
}
"""

_F32P = np.ctypeslib.ndpointer(np.float32, flags="C_CONTIGUOUS")
_I32P = np.ctypeslib.ndpointer(np.int32, flags="C_CONTIGUOUS")


def _build(source: str, path: Path) -> ctypes.CDLL:
    path.with_suffix(".c").write_text(source)
    subprocess.run(["gcc", *CFLAGS, "-I", str(RUNTIME), str(path.with_suffix(".c")), "-o",
                    str(path), "-lm"], check=True, capture_output=True, text=True)
    return ctypes.CDLL(str(path))


_ENGINE_LIB: list = []


def engine() -> ctypes.CDLL:
    """The section path (loader + engine), compiled once per test session."""
    if not _ENGINE_LIB:
        import tempfile

        lib = _build(_ENGINE, Path(tempfile.mkdtemp(prefix="ml_pre_")) / "engine.so")
        lib.t_load.argtypes = [ctypes.c_char_p, ctypes.c_uint32, _I32P]
        lib.t_section.argtypes = [ctypes.c_char_p, ctypes.c_uint32, _F32P, ctypes.c_int32,
                                  ctypes.c_int32, ctypes.c_int32, _F32P, _F32P]
        lib.t_load.restype = lib.t_section.restype = ctypes.c_int32
        _ENGINE_LIB.append(lib)
    return _ENGINE_LIB[0]


class Compiled:
    """A converted transformer: its model-file section run by the engine library, and
    (``header=True``) its generated C body compiled into its own shared library."""

    count = 0

    def __init__(self, est, tmp_path: Path, options: dict | None = None, header: bool = True):
        self.est = est
        opts = dict(FAMILY.options, **(options or {}))
        self.ir = FAMILY.convert(est, opts)
        self.sig = FAMILY.signature(self.ir)
        self.sec = FAMILY.section(self.ir, opts)
        self.lib = None
        if header:
            code = FAMILY.c_code(self.ir, "M", opts)
            Compiled.count += 1  # dlopen caches by path: one file name per model
            self.lib = _build(_HEADER % {"body": code.body, "nf": self.ir.n_features,
                                         "no": self.ir.n_outputs},
                              tmp_path / f"m{Compiled.count}.so")
            self.lib.t_header.argtypes = [_F32P, ctypes.c_int32, _F32P]

    def header(self, X) -> np.ndarray:
        X = np.ascontiguousarray(X, dtype=np.float32)
        out = np.zeros((X.shape[0], self.ir.n_outputs), dtype=np.float32)
        self.lib.t_header(X, X.shape[0], out)
        return out

    def section(self, X, sec: bytes | None = None) -> np.ndarray:
        X = np.ascontiguousarray(X, dtype=np.float32)
        out = np.zeros((X.shape[0], self.ir.n_outputs), dtype=np.float32)
        scratch = np.zeros(self.ir.n_mid + 1, dtype=np.float32)
        sec = self.sec if sec is None else sec
        status = engine().t_section(aligned(sec), len(sec), X, X.shape[0],
                                    self.ir.n_features, self.ir.n_outputs, out, scratch)
        assert status == 0, status
        return out

    def load(self, sec: bytes) -> int:
        info = np.zeros(4, dtype=np.int32)
        return engine().t_load(aligned(sec), len(sec), info)


_KEEP: list = []


def aligned(data: bytes):
    """An 8-byte aligned copy of ``data`` (ctypes pointer), kept alive."""
    buf = (ctypes.c_uint64 * (len(data) // 8 + 1))()
    ctypes.memmove(buf, data, len(data))
    _KEEP.append(buf)
    return ctypes.cast(buf, ctypes.c_char_p)


def _bits_equal(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal as float32 values (NaN equal to NaN; -0.0 equal to 0.0)."""
    a = np.asarray(a, dtype=np.float32)
    b = np.asarray(b, dtype=np.float32)
    return a.shape == b.shape and bool(np.all((a == b) | (np.isnan(a) & np.isnan(b))))


def check(est, X, tmp_path: Path, options: dict | None = None, exact: bool | None = None,
          header: bool = True):
    """C (model-file section, and the header when ``header``) == numpy emulation of the C,
    and vs scikit-learn: bit-identical when the IR says so, else within
    :func:`tolerance`. Returns the Compiled model."""
    X32 = np.asarray(X, dtype=np.float32)
    m = Compiled(est, tmp_path, options, header=header)
    ours = m.section(X32)
    if header:
        assert _bits_equal(ours, m.header(X32))
    assert _bits_equal(ours, reference_transform(m.ir, X32))
    if m.ir.reference == "float64":
        ref = np.asarray(est.transform(X32.astype(np.float64))).astype(np.float32)
    else:
        ref = est.transform(X32)
    assert ref.shape == ours.shape
    if exact is not None:
        assert m.ir.exact is exact
    if m.ir.exact:
        assert _bits_equal(ours, ref), np.mean(ours != ref)
    else:
        tol = tolerance(m.ir, X32)
        err = np.abs(ours.astype(np.float64) - ref.astype(np.float64))
        assert np.all(err <= tol), float(np.max(err - tol))
    return m


def _data(name):
    loader = {"iris": load_iris, "wine": load_wine, "breast_cancer": load_breast_cancer,
              "digits": load_digits, "diabetes": load_diabetes}[name]
    X, y = loader(return_X_y=True)
    return X, y


DATASETS = ["iris", "wine", "breast_cancer", "digits", "diabetes"]

SCALERS = [
    StandardScaler(),
    StandardScaler(with_mean=False),
    StandardScaler(with_std=False),
    MinMaxScaler(),
    MinMaxScaler(feature_range=(-3.0, 0.7), clip=True),
    MaxAbsScaler(),
    MaxAbsScaler(clip=True),
    RobustScaler(),
    RobustScaler(with_centering=False, quantile_range=(10.0, 90.0)),
]


@pytest.mark.parametrize("dataset", DATASETS)
@pytest.mark.parametrize("fit_dtype", [np.float64, np.float32])
@pytest.mark.parametrize("est", SCALERS, ids=lambda e: repr(e))
def test_scalers_bit_identical(est, dataset, fit_dtype, tmp_path):
    """Scalers fitted on float64 or float32 data: every output bit-identical to
    scikit-learn's transform of the float32 rows, training rows and unseen rows
    (shifted, scaled and beyond the fitted range, so clip and extrapolation run)."""
    X, _ = _data(dataset)
    half = X.shape[0] // 2
    est = est.__class__(**est.get_params()).fit(X[:half].astype(fit_dtype))
    rng = np.random.default_rng(0)
    unseen = X[half:] * rng.uniform(0.5, 1.5, X[half:].shape) + rng.normal(0, 1, X[half:].shape)
    check(est, np.vstack([X, unseen]), tmp_path, exact=True, header=dataset == "wine")


@pytest.mark.parametrize("dataset", ["wine", "breast_cancer", "digits"])
@pytest.mark.parametrize("fit_dtype", [np.float64, np.float32])
@pytest.mark.parametrize("est", SCALERS, ids=lambda e: repr(e))
def test_scalers_float64_reference_bit_identical(est, dataset, fit_dtype, tmp_path):
    """scaler_reference='float64': bit-identical to scikit-learn's transform of the rows
    as float64, rounded to float32 (what a tree after the scaler sees in a pipeline fed
    float64 rows), which differs from the float32 transform in most outputs."""
    X, _ = _data(dataset)
    est = est.__class__(**est.get_params()).fit(X.astype(fit_dtype))
    rng = np.random.default_rng(2)
    probe = np.vstack([X, X * rng.uniform(0.5, 1.5, X.shape) + rng.normal(0, 1, X.shape)])
    m = check(est, probe, tmp_path, options={"scaler_reference": "float64"}, exact=True,
              header=dataset == "wine")
    assert m.ir.fused64 == any(a is not None for a in (m.ir.center, m.ir.scale, m.ir.offset))


@pytest.mark.parametrize("dataset", ["wine", "breast_cancer", "digits"])
@pytest.mark.parametrize("est", [MinMaxScaler(), RobustScaler(), MaxAbsScaler()],
                         ids=lambda e: type(e).__name__)
def test_scalers_float32_arithmetic_within_tolerance(est, dataset, tmp_path):
    """scaler_arithmetic='float32' (no double tables): within the derived bound."""
    X, _ = _data(dataset)
    est = est.fit(X)
    m = check(est, X, tmp_path, options={"scaler_arithmetic": "float32"},
              header=dataset == "wine")
    assert all(a is None or a.dtype == np.float32 for a in (m.ir.center, m.ir.scale,
                                                            m.ir.offset))


def test_scaler_zero_variance_and_constant_columns(tmp_path):
    """Constant columns: scale_ = 1 (StandardScaler/MinMaxScaler/RobustScaler), mean
    subtracted; outputs still bit-identical, also for inputs off the constant."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 5)) * [1, 0, 3, 0, 1e-3]
    X[:, 1] = 7.25
    X[:, 3] = 0.0
    probe = np.vstack([X, X + 1.5, -X])
    for est in (StandardScaler(), MinMaxScaler(), MaxAbsScaler(), RobustScaler(),
                MinMaxScaler(clip=True)):
        est.fit(X)
        check(est, probe, tmp_path, exact=True)


def test_scaler_nan_passes_through(tmp_path):
    """NaN inputs: scikit-learn's scalers pass NaN through; the C gives NaN at the same
    places and the other features unchanged (clip too)."""
    X, _ = _data("wine")
    Xn = X.astype(np.float32).copy()
    Xn[::3, 2] = np.nan
    Xn[1::5, 0] = np.nan
    for est in (StandardScaler(), MinMaxScaler(clip=True), MaxAbsScaler(), RobustScaler()):
        est.fit(X)
        m = check(est, Xn, tmp_path, exact=True)
        out = m.header(Xn)
        assert np.array_equal(np.isnan(out), np.isnan(Xn))


def test_minmax_clip_bounds(tmp_path):
    """clip=True: values beyond the fitted range land exactly on feature_range."""
    X, _ = _data("iris")
    est = MinMaxScaler(feature_range=(-1.0, 2.0), clip=True).fit(X)
    probe = np.vstack([X.min(0) - 10, X.max(0) + 10, X.min(0), X.max(0)])
    m = check(est, probe, tmp_path, exact=True)
    out = m.header(probe)
    assert np.all(out[0] == -1.0) and np.all(out[1] == 2.0)


@pytest.mark.parametrize("norm", ["l1", "l2", "max"])
@pytest.mark.parametrize("dataset", ["iris", "wine", "breast_cancer", "digits", "diabetes"])
def test_normalizer(norm, dataset, tmp_path):
    """Normalizer: max bit-identical; l1 / l2 within (2 e_N + 2u)|y|; zero rows stay 0
    (norm 0 counts as 1, like scikit-learn)."""
    X, _ = _data(dataset)
    X = np.vstack([X, np.zeros((1, X.shape[1])), np.full((1, X.shape[1]), 1e-9)])
    check(Normalizer(norm=norm).fit(X), X, tmp_path, exact=norm == "max",
          header=dataset == "wine")


@pytest.mark.parametrize("dataset", ["iris", "wine", "breast_cancer", "digits", "diabetes"])
@pytest.mark.parametrize("whiten", [False, True])
@pytest.mark.parametrize("fit_dtype", [np.float64, np.float32])
def test_pca(dataset, whiten, fit_dtype, tmp_path):
    """PCA (whiten folded into the matrix): within gamma_(n+2) sum |w| (|x - m| + |m|)
    plus scikit-learn's own rounding (float32 when fitted on float32)."""
    X, _ = _data(dataset)
    k = min(5, X.shape[1] - 1)
    est = PCA(n_components=k, whiten=whiten, random_state=0).fit(X.astype(fit_dtype))
    check(est, X, tmp_path, exact=False, header=dataset == "wine")


def test_pca_rank_deficient_whiten(tmp_path):
    """A near-zero variance component (clipped by scikit-learn to eps) stays finite and
    matches."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(40, 4))
    X[:, 3] = X[:, 0] + X[:, 1]
    est = PCA(n_components=4, whiten=True, svd_solver="full").fit(X)
    m = Compiled(est, tmp_path)
    out = m.header(X.astype(np.float32))
    assert np.all(np.isfinite(out[:, :3]))
    check(est, X, tmp_path)


@pytest.mark.parametrize("dataset", ["wine", "digits"])
def test_incremental_pca_and_truncated_svd(dataset, tmp_path):
    X, _ = _data(dataset)
    check(IncrementalPCA(n_components=3, whiten=True).fit(X), X, tmp_path, exact=False)
    check(TruncatedSVD(n_components=4, random_state=0).fit(X), X, tmp_path, exact=False)


def _selectors():
    return [
        VarianceThreshold(threshold=0.5),
        SelectKBest(f_classif, k=3),
        SelectPercentile(f_classif, percentile=40),
        SelectFromModel(DecisionTreeClassifier(random_state=0), max_features=4),
        RFE(LogisticRegression(max_iter=500), n_features_to_select=3),
        SequentialFeatureSelector(DecisionTreeClassifier(random_state=0),
                                  n_features_to_select=2, cv=2),
    ]


@pytest.mark.parametrize("dataset", ["iris", "wine", "breast_cancer"])
@pytest.mark.parametrize("idx", range(6))
def test_selectors(dataset, idx, tmp_path):
    """Any SelectorMixin: a gather of get_support(indices=True), bit-identical (NaN too)."""
    X, y = _data(dataset)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = _selectors()[idx].fit(X, y)
    m = check(est, X, tmp_path, exact=True, header=dataset == "wine")
    assert np.array_equal(m.ir.gather, est.get_support(indices=True))
    Xn = X.astype(np.float32)
    Xn[0, :] = np.nan
    assert np.all(np.isnan(m.section(Xn)[0]))


def test_selector_empty_selection_rejected():
    X, y = _data("iris")
    est = VarianceThreshold().fit(X)
    est.variances_ = np.zeros_like(est.variances_)  # nothing above the threshold
    with pytest.raises(ConversionError, match="no feature"):
        from_sklearn(est)


def test_unsupported_settings_rejected():
    X, _ = _data("iris")
    with pytest.raises(ValueError, match="scaler_arithmetic"):
        from_sklearn(StandardScaler().fit(X), {"scaler_arithmetic": "float16"})
    with pytest.raises(ValueError, match="scaler_reference"):
        from_sklearn(StandardScaler().fit(X), {"scaler_reference": "float16"})
    with pytest.raises(ValueError, match="scaler_reference"):
        from_sklearn(StandardScaler().fit(X), {"scaler_reference": "float64",
                                               "scaler_arithmetic": "float32"})
    est = Normalizer().fit(X)
    est.norm = "l3"
    with pytest.raises(ConversionError, match="norm"):
        from_sklearn(est)
    with pytest.raises(ConversionError, match="not a transformer"):
        from_sklearn(DecisionTreeClassifier().fit(X, np.arange(X.shape[0]) % 2))


def test_double_tables_only_where_needed():
    """Auto arithmetic: StandardScaler never needs double (scikit-learn casts to
    float32); a MinMaxScaler fitted on float64 data does, one fitted on float32 not."""
    X, _ = _data("wine")
    ir = from_sklearn(StandardScaler().fit(X))
    assert ir.center.dtype == np.float32 and ir.scale.dtype == np.float32
    ir = from_sklearn(MinMaxScaler().fit(X))
    assert ir.scale.dtype == np.float64 and ir.offset.dtype == np.float64
    ir = from_sklearn(MinMaxScaler().fit(X.astype(np.float32)))
    assert ir.scale.dtype == np.float32 and ir.offset.dtype == np.float32
    ir = from_sklearn(MaxAbsScaler().fit(np.round(X)))  # integer maxima: float32 values
    assert ir.scale.dtype == np.float32


# --- model-file section: crafted corrupt sections must be rejected ----------------------

ML_ERR_MODEL, ML_ERR_UNSUPPORTED, ML_ERR_ALIGN = -4, -6, -7


@pytest.fixture(scope="module")
def pca_model(tmp_path_factory):
    X, _ = _data("wine")
    est = PCA(n_components=3).fit(X)
    return Compiled(est, tmp_path_factory.mktemp("sec"))


def _u32(sec: bytes, off: int) -> int:
    return struct.unpack_from("<I", sec, off)[0]


def _put(sec: bytes, off: int, value: int, fmt: str = "<I") -> bytes:
    b = bytearray(sec)
    struct.pack_into(fmt, b, off, value)
    return bytes(b)


def test_section_valid_and_info(pca_model):
    info = np.zeros(4, dtype=np.int32)
    sec = pca_model.sec
    assert engine().t_load(aligned(sec), len(sec), info) == 0
    assert list(info) == [3, 13, 3, 13]  # transformer, 13 inputs, 3 outputs, scratch 13


def test_section_truncated(pca_model):
    sec = pca_model.sec
    for n in (0, 4, 51, 52, 60, len(sec) - 4, len(sec) - 1):
        assert pca_model.load(sec[:n]) == ML_ERR_MODEL, n


@pytest.mark.parametrize("field", [32, 36, 40, 44, 48])
def test_section_offsets_out_of_range(pca_model, field):
    sec = pca_model.sec
    for bad in (len(sec), len(sec) - 8, 0xFFFFFFF0, 12, 2):
        assert pca_model.load(_put(sec, field, bad)) in (ML_ERR_MODEL, ML_ERR_ALIGN), (field,
                                                                                     bad)


def test_section_bad_counts_flags_version(pca_model):
    sec = pca_model.sec
    assert pca_model.load(_put(sec, 0, 2)) == ML_ERR_UNSUPPORTED  # version
    assert pca_model.load(_put(sec, 16, _u32(sec, 16) | 0x800)) == ML_ERR_UNSUPPORTED
    assert pca_model.load(_put(sec, 20, 4)) == ML_ERR_UNSUPPORTED  # norm
    for off, value in ((4, 0), (4, 14), (8, 0), (8, 12), (12, 0), (12, 5000), (4, 1 << 20),
                       (12, 0xFFFFFFFF)):
        assert pca_model.load(_put(sec, off, value)) == ML_ERR_MODEL, (off, value)
    # matrix flag cleared: n_outputs must equal n_mid and the matrix offset must be 0
    assert pca_model.load(_put(sec, 16, _u32(sec, 16) & ~0x200)) == ML_ERR_MODEL
    # a double flag without its table, a divide flag without scale, clip bits without clip
    assert pca_model.load(_put(sec, 16, _u32(sec, 16) | 0x010)) == ML_ERR_MODEL
    assert pca_model.load(_put(sec, 16, _u32(sec, 16) | 0x020)) == ML_ERR_MODEL
    assert pca_model.load(_put(sec, 24, 1.0, "<f")) == ML_ERR_MODEL
    # the center table moved to the end (valid as f32), then declared f64: too long
    end = _put(sec, 36, len(sec) - 4 * 13)
    assert pca_model.load(end) == 0
    assert pca_model.load(_put(end, 16, _u32(sec, 16) | 0x004)) == ML_ERR_MODEL


def test_section_gather_index_out_of_range(tmp_path):
    X, y = _data("wine")
    m = Compiled(SelectKBest(f_classif, k=4).fit(X, y), tmp_path)
    sec = m.sec
    g = _u32(sec, 32)
    assert m.load(sec) == 0
    assert m.load(_put(sec, g + 2, 13, "<H")) == ML_ERR_MODEL
    assert m.load(_put(sec, g + 6, 0xFFFF, "<H")) == ML_ERR_MODEL
    assert m.load(_put(sec, g + 6, 12, "<H")) == 0


def test_section_fused_needs_double_tables(tmp_path):
    X, _ = _data("iris")
    m = Compiled(StandardScaler().fit(X), tmp_path, header=False)
    assert m.load(m.sec) == 0 and m.ir.scale.dtype == np.float32
    assert m.load(_put(m.sec, 16, _u32(m.sec, 16) | 0x400)) == ML_ERR_MODEL
    m64 = Compiled(StandardScaler().fit(X), tmp_path, {"scaler_reference": "float64"},
                   header=False)
    assert m64.load(m64.sec) == 0
    # the double tables need an 8-byte aligned address
    base = ctypes.cast(aligned(b"\0\0\0\0" + m64.sec), ctypes.c_void_p).value
    assert engine().t_load(ctypes.cast(base + 4, ctypes.c_char_p), len(m64.sec),
                           np.zeros(4, dtype=np.int32)) == ML_ERR_ALIGN


def test_section_clip_nan_rejected(tmp_path):
    X, _ = _data("iris")
    m = Compiled(MinMaxScaler(clip=True).fit(X), tmp_path)
    assert m.load(m.sec) == 0
    assert m.load(_put(m.sec, 24, float("nan"), "<f")) == ML_ERR_MODEL
    assert m.load(_put(m.sec, 24, 5.0, "<f")) == ML_ERR_MODEL  # lo > hi


def test_section_random_corruption_never_crashes(pca_model):
    """Random byte flips: the loader returns a code (0 or an error); when it accepts, the
    transform runs within the section (no crash)."""
    rng = np.random.default_rng(0)
    sec = bytearray(pca_model.sec)
    X = np.zeros((1, 13), dtype=np.float32)
    for _ in range(300):
        b = bytearray(sec)
        for _ in range(rng.integers(1, 4)):
            b[int(rng.integers(0, 52))] = int(rng.integers(0, 256))
        status = pca_model.load(bytes(b))
        assert status in (0, ML_ERR_MODEL, ML_ERR_UNSUPPORTED, ML_ERR_ALIGN)
        if status == 0 and _u32(bytes(b), 4) == 13 and _u32(bytes(b), 12) == 3:
            pca_model.section(X, bytes(b))


# --- portability: the generated C compiles clean on every compiler and as C++ -------------

def _compilers():
    out = [("gcc", ["-std=c99"]), ("clang", ["-std=c99"]), ("g++", ["-x", "c++", "-std=c++11"])]
    arm = [("arm-none-eabi-gcc", ["-std=c99", "-mcpu=cortex-m4", "-mthumb",
                                  "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"]),
           ("arm-none-eabi-gcc", ["-std=c99", "-mcpu=cortex-m0plus", "-mthumb"])]
    return out + arm


@pytest.mark.parametrize("cc,flags", _compilers(), ids=lambda v: v if isinstance(v, str)
                         else "-".join(f.lstrip("-") for f in v if "cpu" in f) or "host")
def test_compiles_clean_everywhere(cc, flags, tmp_path):
    import shutil

    if shutil.which(cc) is None:
        pytest.skip(f"{cc} not installed")
    X, y = _data("wine")
    bodies = []
    models = [(MinMaxScaler(clip=True).fit(X), {}), (StandardScaler().fit(X), {}),
              (Normalizer("l2").fit(X), {}), (PCA(2, whiten=True).fit(X), {}),
              (SelectKBest(f_classif, k=3).fit(X, y), {}),
              (RobustScaler().fit(X), {"scaler_reference": "float64"})]
    for i, (est, opts) in enumerate(models):
        opts = dict(FAMILY.options, **opts)
        bodies.append(FAMILY.c_code(FAMILY.convert(est, opts), f"m{i}", opts).body)
    src = tmp_path / "all.c"
    src.write_text('#include "ml_preprocessing.h"\n' + "\n".join(bodies) + """
void use(const float *x, float *out);
void use(const float *x, float *out) { m0__transform(x, out); m1__transform(x, out);
    m2__transform(x, out); m3__transform(x, out); m4__transform(x, out);
    m5__transform(x, out); }
""")
    warn = ["-Wall", "-Wextra", "-Werror"]
    if cc != "g++":
        warn += ["-Wpedantic", "-Wconversion", "-Wdouble-promotion"]
    subprocess.run([cc, *flags, *warn, "-O2", "-c", "-I", str(RUNTIME), str(src), "-o",
                    str(tmp_path / "all.o")], check=True, capture_output=True, text=True)


# --- the shared conformance suite (generic Model, header writer, model file) --------------

def _dispatcher_has_family() -> bool:
    """ml_model.h lists this family (else the model-file check of the suite is skipped)."""
    return "preprocessing" in (RUNTIME / "ml_model.h").read_text()


def _conformance(est, X, atol=0.0, options=None, compilers=False):
    from conformance import check_conformance

    return check_conformance(est, X, atol=atol, options=options,
                             blob=_dispatcher_has_family(), compilers=compilers)


@pytest.mark.parametrize("est", [StandardScaler(), MinMaxScaler(clip=True), MaxAbsScaler(),
                                 RobustScaler(), Normalizer("max"),
                                 SelectKBest(f_classif, k=5)], ids=lambda e: repr(e))
def test_conformance_exact(est, tmp_path):
    """The shared suite with atol = 0: bit-identical transforms through the public API."""
    X, y = _data("breast_cancer")
    est.fit(X, y)
    _conformance(est, X, compilers=isinstance(est, StandardScaler))


@pytest.mark.parametrize("est", [Normalizer("l2"), Normalizer("l1"),
                                 TruncatedSVD(4, random_state=0)], ids=lambda e: repr(e))
def test_conformance_tolerance(est):
    """The shared suite with atol = the largest per-output bound of :func:`tolerance`."""
    X, y = _data("wine")
    est.fit(X, y)
    ir = from_sklearn(est)
    _conformance(est, X, atol=float(tolerance(ir, X).max()))


def _threshold_probes(pipe, X, per_node: int = 3) -> np.ndarray:
    """Rows whose scaled value of a node's feature lies on the node's threshold: a row's
    feature set to the float32 inverse image of the threshold and its float32 neighbours
    (the adversarial inputs for a scaler followed by a tree)."""
    scaler, tree = pipe[0], pipe[-1].tree_
    X32 = np.asarray(X, dtype=np.float32)
    rows = []
    for node in np.flatnonzero(tree.children_left != -1):
        f, t = int(tree.feature[node]), float(tree.threshold[node])
        z = scaler.transform(X32[:1].astype(np.float64))
        z[0, f] = t
        x0 = np.float32(scaler.inverse_transform(z)[0, f])
        for k in range(-per_node, per_node + 1):
            v = x0
            step = np.float32(np.inf if k > 0 else -np.inf)
            for _ in range(abs(k)):
                v = np.nextafter(v, step)
            row = X32[node % len(X32)].copy()
            row[f] = v
            rows.append(row)
    return np.array(rows, dtype=np.float32)


@pytest.mark.parametrize("dataset", ["iris", "wine", "breast_cancer", "digits"])
@pytest.mark.parametrize("scaler", [StandardScaler(), MinMaxScaler(), RobustScaler(),
                                    MaxAbsScaler()], ids=lambda e: type(e).__name__)
def test_pipeline_scaler_tree_exact_at_thresholds(dataset, scaler, tmp_path):
    """Scaler -> decision tree: predict and predict_proba equal scikit-learn's on all
    rows and on rows placed on every threshold (in the scaled space) and their float32
    neighbours: possible because the scaler's C output is bit-identical (predict_proba
    within the tree family's float32 leaf rounding)."""
    from sklearn.pipeline import make_pipeline

    X, y = _data(dataset)
    pipe = make_pipeline(scaler, DecisionTreeClassifier(random_state=0, max_depth=8)).fit(X, y)
    probes = _threshold_probes(pipe, X)
    # the probes do straddle thresholds: scikit-learn's own scaled value lands on both sides
    scaled = pipe[0].transform(probes)
    tree = pipe[-1].tree_
    node_feat = tree.feature[tree.children_left != -1]
    thr = tree.threshold[tree.children_left != -1]
    assert np.any(scaled[:, node_feat[0]] <= thr[0]) and np.any(scaled[:, node_feat[0]] >
                                                                 thr[0])
    from parity import mean_tolerance  # the tree family's bound on its float32 leaf rows

    _conformance(pipe, np.vstack([X, probes]), atol={"predict_proba": mean_tolerance(1, 1.0)})
