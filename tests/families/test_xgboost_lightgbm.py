"""XGBoost and LightGBM: the readers (model -> RawEnsemble) against the libraries themselves.

``raw_predict(read(model), X)`` must equal the library's own outputs (raw margins,
predict, predict_proba / regression) on float32 inputs including NaN, values exactly at
(and one float32 step around) every threshold, the ``missing`` value, zeros and tiny
values (LightGBM's zero handling), and unknown / negative / fractional / huge categories.

Tolerances (derived, not tuned):

* XGBoost sums the margin in float32 (raw_predict in float64): per output
  ``|err| <= (T + 1) * 2**-24 * (|base| + sum of |leaf| reached)`` (recursive summation,
  ``T`` trees of that output). Probabilities: sigmoid' <= 1/4, softmax's total derivative
  <= 1/2, plus the float32 evaluation of the transform (a few units of 2**-24);
  ``exp``: relative error ``err + 8 * 2**-24``.
* LightGBM sums in float64 in the same tree order: the same bound with 2**-52.
* Class predictions: identical on every row.
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_iris, load_wine

from microlearn.errors import ConversionError
from microlearn.families.trees.raw import RawEnsemble, raw_predict, raw_scores

xgb = pytest.importorskip("xgboost", reason="xgboost not installed (microlearn[xgboost])")
lgb = pytest.importorskip("lightgbm", reason="lightgbm not installed (microlearn[lightgbm])")

from microlearn.families.trees import lightgbm as lgb_reader  # noqa: E402
from microlearn.families.trees import xgboost as xgb_reader  # noqa: E402

U32 = 2.0**-24
U64 = 2.0**-52
ODD = np.array([2.5, 3.7, -0.5, -0.9, -1.0, -3.0, 12.0, 13.0, 100.0, 1e7, 3e9, 1e30, np.nan,
                0.0, -0.0, 1e-35, -1e-35, 5e-36, -5e-36, 1e-40, -1e-40, 2e-35, -2e-35],
               dtype=np.float32)


# ---------------------------------------------------------------- helpers


def _abs_ensemble(ens: RawEnsemble) -> RawEnsemble:
    trees = [dataclasses.replace(t, value=np.abs(t.value)) for t in ens.trees]
    return dataclasses.replace(ens, trees=trees, base_score=np.abs(ens.base_score),
                               scale=abs(ens.scale), post="identity")


def sum_bound(ens: RawEnsemble, X: np.ndarray, unit: float) -> np.ndarray:
    """(T + 1) * unit * (|base| + sum |leaf|) per row and output: the summation bound."""
    counts = np.zeros(ens.n_outputs)
    for t in ens.trees:
        if t.output >= 0:
            counts[t.output] += 1
        else:
            counts += 1
    return (counts + 1) * unit * raw_scores(_abs_ensemble(ens), X)


def probe_rows(ens: RawEnsemble, X: np.ndarray, seed: int = 0, max_nodes: int = 150,
               features: tuple[int, ...] | None = None) -> np.ndarray:
    """X plus: rows reaching a decision node with its feature at, and one float32 step
    around, the threshold; rows with each feature set to every ODD value."""
    rng = np.random.default_rng(seed)
    X = np.asarray(X, dtype=np.float32)
    rows = [X]
    sub = X[rng.permutation(len(X))[:200]]  # rows searched for one reaching each node
    nodes = [(t, i) for t in ens.trees for i in np.flatnonzero(t.left != -1)
             if t.categories is None or t.categories[i] is None]
    for k in rng.permutation(len(nodes))[:max_nodes]:
        tree, node = nodes[k]
        left = tree.left.copy()
        left[node] = -1
        ind = np.zeros((tree.n_nodes, 1))
        ind[node] = 1.0
        cut = dataclasses.replace(tree, left=left, value=ind, output=-1)
        one = dataclasses.replace(ens, trees=[cut], n_outputs=1, base_score=np.zeros(1),
                                  scale=1.0, post="identity", combine="sum")
        reach = np.flatnonzero(raw_scores(one, sub)[:, 0] > 0)
        base = sub[reach[0]] if reach.size else sub[0]
        with np.errstate(over="ignore"):
            t32 = np.float32(tree.threshold[node])
        for v in (t32, np.nextafter(t32, np.float32(np.inf)),
                  np.nextafter(t32, np.float32(-np.inf))):
            r = base.copy()
            r[tree.feature[node]] = v
            rows.append(r[None, :])
    feats = range(X.shape[1]) if features is None else features
    for f in feats:
        r = sub[rng.integers(len(sub), size=len(ODD))].copy()
        r[:, f] = ODD
        rows.append(r)
    return np.concatenate(rows).astype(np.float32)


def _as2d(a) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    return a.reshape(a.shape[0], -1)


def _transform_bound(post: str, raw: np.ndarray, err: np.ndarray, unit: float,
                     k: int) -> np.ndarray:
    """Bound on the transformed output given the raw error bound (see the module doc)."""
    if post == "sigmoid":
        return err / 4 + 4 * unit
    if post == "softmax":
        return np.max(err, axis=1, keepdims=True) / 2 + (k + 4) * unit
    if post == "exp":
        return np.exp(raw) * (np.expm1(err) + 8 * unit)
    return err


def _data(name: str):
    loader = {"iris": load_iris, "wine": load_wine, "breast_cancer": load_breast_cancer}[name]
    X, y = loader(return_X_y=True)
    return X.astype(np.float32), y


def _with_missing(X: np.ndarray, seed: int = 0, frac: float = 0.05) -> np.ndarray:
    rng = np.random.default_rng(seed)
    X = X.copy()
    X[rng.random(X.shape) < frac] = np.nan
    X[rng.random(X.shape) < frac] = 0.0
    return X


# ---------------------------------------------------------------- XGBoost

XGB_OBJECTIVES = ["binary:logistic", "binary:logitraw", "multi:softprob", "multi:softmax",
                  "reg:squarederror", "reg:absoluteerror", "reg:logistic", "count:poisson",
                  "reg:gamma", "reg:tweedie", "reg:pseudohubererror", "reg:quantileerror",
                  "reg:squaredlogerror"]


def _xgb_model(objective: str, **kw):
    if objective.startswith("multi"):
        X, y = _data("iris")
        cls = xgb.XGBClassifier
    elif objective.startswith("binary"):
        X, y = _data("breast_cancer")
        cls = xgb.XGBClassifier
    else:
        X, _ = _data("wine")
        y = X[:, 0] / 15.0 if objective == "reg:logistic" else X[:, 0] - 10.0
        cls = xgb.XGBRegressor
    if objective == "reg:quantileerror":
        kw["quantile_alpha"] = np.array([0.2, 0.5, 0.8])
    X = _with_missing(X)
    model = cls(n_estimators=20, max_depth=3, objective=objective, random_state=0, n_jobs=1, **kw)
    return model.fit(X, y), X


def _check_xgb(model, ens: RawEnsemble, Xp: np.ndarray) -> dict:
    ref = raw_predict(ens, Xp)
    margin = _as2d(model.predict(Xp, output_margin=True))
    bound = sum_bound(ens, Xp, U32)
    err = np.abs(ref["raw"] - margin)
    assert np.all(err <= bound), f"margin: max err {err.max()} (bound {bound.max()})"
    figures = {"margin_err": float(err.max())}
    tb = _transform_bound(ens.post, ref["raw"], bound, U32, ens.n_outputs)
    if ens.kind == "classifier":
        np.testing.assert_array_equal(ref["predict"], model.predict(Xp))
        if model.objective != "binary:logitraw":  # XGBoost: "unsupported by predict_proba"
            p = model.predict_proba(Xp)
            perr = np.abs(ref["proba"] - p)
            width = tb if ens.post == "softmax" else np.hstack([tb, tb])
            assert np.all(perr <= width), f"proba: max err {perr.max()}"
            figures["proba_err"] = float(perr.max())
    else:
        out = _as2d(model.predict(Xp))
        oerr = np.abs(ref["regress"] - out)
        assert np.all(oerr <= tb), f"predict: max err {oerr.max()} (bound {tb.max()})"
        figures["predict_err"] = float(oerr.max())
    return figures


@pytest.mark.parametrize("objective", XGB_OBJECTIVES)
def test_xgboost_objectives(objective):
    model, X = _xgb_model(objective)
    ens = xgb_reader.read(model)
    assert ens.rule == "<"
    Xp = probe_rows(ens, X)
    _check_xgb(model, ens, Xp)


@pytest.mark.parametrize(("objective", "missing"), [
    ("binary:logistic", np.nan), ("binary:logistic", 0.0), ("multi:softprob", -1.0),
    ("reg:squarederror", 0.0)])
def test_xgboost_categorical_and_missing(objective, missing):
    rng = np.random.default_rng(1)
    n = 500
    c = rng.integers(0, 12, n).astype(np.float32)  # many categories: partition splits
    c2 = rng.integers(0, 3, n).astype(np.float32)  # few categories: one-hot splits
    z = rng.normal(size=n).astype(np.float32)
    z[rng.random(n) < 0.1] = np.nan
    c[rng.random(n) < 0.05] = np.nan
    w = rng.normal(size=n).astype(np.float32)
    w[rng.random(n) < 0.1] = missing
    X = np.stack([c, c2, z, w], axis=1)
    y = ((np.nan_to_num(c) % 3 == 0) ^ (np.nan_to_num(z) > 0.5) ^ (c2 == 1)).astype(int)
    y = y ^ (w > 0.3)
    if objective.startswith("multi"):
        y = (np.nan_to_num(c).astype(int) + y) % 3
    cls = xgb.XGBRegressor if objective.startswith("reg") else xgb.XGBClassifier
    model = cls(n_estimators=20, max_depth=4, objective=objective, enable_categorical=True,
                feature_types=["c", "c", "q", "q"], missing=missing, max_cat_to_onehot=4,
                random_state=0, n_jobs=1).fit(X, y)
    ens = xgb_reader.read(model)
    n_cat = sum(c is not None for t in ens.trees for c in (t.categories or []))
    assert n_cat > 0 and ens.category_cast == "trunc"
    _check_xgb(model, ens, probe_rows(ens, X[:150], max_nodes=60))


def test_xgboost_dart_rf_early_stopping_and_booster():
    X, y = _data("iris")
    X = _with_missing(X)
    dart = xgb.XGBClassifier(n_estimators=20, max_depth=3, booster="dart", rate_drop=0.3,
                             random_state=0, n_jobs=1).fit(X, y)
    _check_xgb(dart, xgb_reader.read(dart), probe_rows(xgb_reader.read(dart), X))
    rf = xgb.XGBRFClassifier(n_estimators=10, max_depth=3, random_state=0, n_jobs=1).fit(X, y)
    _check_xgb(rf, xgb_reader.read(rf), X)
    early = xgb.XGBClassifier(n_estimators=200, max_depth=3, early_stopping_rounds=3,
                              random_state=0, n_jobs=1)
    early.fit(X[::2], y[::2], eval_set=[(X[1::2], y[1::2])], verbose=False)
    ens = xgb_reader.read(early)
    assert len(ens.trees) == 3 * (early.best_iteration + 1) < 600
    _check_xgb(early, ens, X)
    # a raw Booster: all rounds, Booster.predict on a DMatrix
    booster = early.get_booster()
    ens = xgb_reader.read(booster)
    assert len(ens.trees) == booster.num_boosted_rounds() * 3
    dm = xgb.DMatrix(X)
    ref = raw_predict(ens, X)
    bound = sum_bound(ens, X, U32)
    assert np.all(np.abs(ref["raw"] - booster.predict(dm, output_margin=True)) <= bound)
    assert np.all(np.abs(ref["proba"] - booster.predict(dm)) <= bound.max() / 2 + 7 * U32)
    # a Booster trained on a DMatrix with missing=0: pass missing to the reader
    Xb, yb = _data("breast_cancer")
    Xb = _with_missing(Xb, frac=0.1)
    b0 = xgb.train({"objective": "binary:logistic", "max_depth": 3},
                   xgb.DMatrix(Xb, yb, missing=0.0), num_boost_round=10)
    ens = xgb_reader.read(b0, missing=0.0)
    Xp = probe_rows(ens, Xb)
    got = raw_predict(ens, Xp)["raw"][:, 0]
    want = b0.predict(xgb.DMatrix(Xp, missing=0.0), output_margin=True)
    assert np.all(np.abs(got - want) <= sum_bound(ens, Xp, U32)[:, 0])


def test_xgboost_unsupported():
    X, y = _data("breast_cancer")
    hinge = xgb.XGBClassifier(n_estimators=2, objective="binary:hinge").fit(X, y)
    with pytest.raises(ConversionError, match="binary:hinge.*supported: binary:logistic"):
        xgb_reader.read(hinge)
    linear = xgb.XGBRegressor(n_estimators=2, booster="gblinear").fit(X, y)
    with pytest.raises(ConversionError, match="gblinear.*supported: gbtree, dart"):
        xgb_reader.read(linear)
    Xi, yi = _data("iris")
    vec = xgb.XGBRegressor(n_estimators=2, tree_method="hist",
                           multi_strategy="multi_output_tree")
    vec.fit(Xi, np.stack([yi, -yi], axis=1))
    with pytest.raises(ConversionError, match="multi_output_tree"):
        xgb_reader.read(vec)
    with pytest.raises(ConversionError, match="not an XGBoost model"):
        xgb_reader.read(object())
    labels = np.stack([yi == 0, yi == 1], axis=1).astype(int)
    multilabel = xgb.XGBClassifier(n_estimators=2, n_jobs=1).fit(Xi, labels)
    with pytest.raises(ConversionError, match="multi-label"):
        xgb_reader.read(multilabel)
    regobj = xgb.XGBClassifier(n_estimators=2, objective="reg:squarederror", n_jobs=1)
    regobj.fit(Xi, (yi > 0).astype(int))
    with pytest.raises(ConversionError, match="supported: binary:logistic, binary:logitraw"):
        xgb_reader.read(regobj)


# ---------------------------------------------------------------- LightGBM

LGB_OBJECTIVES = ["binary", "multiclass", "multiclassova", "regression", "regression_l1",
                  "huber", "fair", "quantile", "mape", "poisson", "gamma", "tweedie",
                  "cross_entropy"]


def _lgb_fit(model, X, y, **fit):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(X, y, **fit)


def _check_lgb(model, ens: RawEnsemble, Xp: np.ndarray) -> dict:
    ref = raw_predict(ens, Xp)
    raw = _as2d(model.predict(Xp, raw_score=True))
    if ens.scale != 1.0:  # boosting_type="rf": LightGBM's raw_score is the unaveraged sum
        raw = raw * ens.scale
    bound = sum_bound(ens, Xp, U64) + U64 * np.abs(raw)
    err = np.abs(ref["raw"] - raw)
    assert np.all(err <= bound), f"raw: max err {err.max()} (bound {bound.max()})"
    figures = {"raw_err": float(err.max())}
    tb = _transform_bound(ens.post, ref["raw"], bound, U64, ens.n_outputs)
    if ens.kind == "classifier":
        np.testing.assert_array_equal(ref["predict"], model.predict(Xp))
        perr = np.abs(ref["proba"] - model.predict_proba(Xp))
        figures["proba_err"] = float(perr.max())
        assert perr.max() <= tb.max(), f"proba: max err {perr.max()}"
    else:
        oerr = np.abs(ref["regress"] - _as2d(model.predict(Xp)))
        figures["predict_err"] = float(oerr.max())
        assert np.all(oerr <= tb), f"predict: max err {oerr.max()}"
    return figures


@pytest.mark.parametrize("objective", LGB_OBJECTIVES)
def test_lightgbm_objectives(objective):
    if objective.startswith("multi"):
        X, y = _data("iris")
        cls = lgb.LGBMClassifier
    elif objective == "binary":
        X, y = _data("breast_cancer")
        cls = lgb.LGBMClassifier
    else:
        X, _ = _data("wine")
        y = X[:, 0] / 15.0 if objective == "cross_entropy" else X[:, 0] - 10.0
        if objective in ("poisson", "gamma", "tweedie", "mape"):
            y = X[:, 0] - 10.0
        cls = lgb.LGBMRegressor
    X = _with_missing(X)
    model = _lgb_fit(cls(n_estimators=20, num_leaves=7, min_child_samples=5,
                         objective=objective, random_state=0, n_jobs=1, verbose=-1), X, y)
    ens = lgb_reader.read(model)
    assert ens.rule == "<="
    _check_lgb(model, ens, probe_rows(ens, X))


def _lgb_cat_data(seed: int = 0):
    rng = np.random.default_rng(seed)
    n = 500
    c = rng.integers(0, 12, n).astype(np.float32)
    c2 = rng.integers(0, 3, n).astype(np.float32)
    z = rng.normal(size=n).astype(np.float32)
    z[rng.random(n) < 0.1] = np.nan
    z[rng.random(n) < 0.1] = 0.0
    c[rng.random(n) < 0.05] = np.nan
    w = rng.normal(size=n).astype(np.float32)
    w[rng.random(n) < 0.2] = 0.0
    X = np.stack([c, c2, z, w], axis=1)
    y = ((np.nan_to_num(c) % 3 == 0) ^ (np.nan_to_num(z) > 0.5) ^ (c2 == 1) ^ (w > 0))
    return X, y.astype(int), c


@pytest.mark.parametrize("params", [
    {}, {"zero_as_missing": True}, {"use_missing": False}, {"max_cat_to_onehot": 16},
    {"boosting_type": "dart"}, {"boosting_type": "goss"},
    {"boosting_type": "rf", "bagging_freq": 1, "bagging_fraction": 0.5},
    {"objective": "multiclass"}, {"objective": "multiclassova"}, {"objective": "regression"},
], ids=lambda p: ",".join(f"{k}={v}" for k, v in p.items()) or "default")
def test_lightgbm_missing_and_categorical(params):
    X, y, c = _lgb_cat_data()
    params = dict(params)
    if params.get("objective", "").startswith("multi"):
        y = (np.nan_to_num(c).astype(int) + y) % 3
    cls = lgb.LGBMRegressor if params.get("objective") == "regression" else lgb.LGBMClassifier
    model = _lgb_fit(cls(n_estimators=20, num_leaves=15, min_child_samples=5, cat_smooth=1,
                         min_data_per_group=5, random_state=0, n_jobs=1, verbose=-1, **params),
                     X, y, categorical_feature=[0, 1])
    ens = lgb_reader.read(model)
    n_cat = sum(c is not None for t in ens.trees for c in (t.categories or []))
    assert n_cat > 0 and ens.category_cast == "trunc_signed"
    if params.get("zero_as_missing"):
        assert any((t.missing_type == 2).any() for t in ens.trees)
    _check_lgb(model, ens, probe_rows(ens, X[:150], max_nodes=60))


def test_lightgbm_early_stopping_and_booster():
    X, y, _ = _lgb_cat_data(1)
    model = _lgb_fit(lgb.LGBMClassifier(n_estimators=300, num_leaves=15, random_state=0, n_jobs=1,
                                        verbose=-1),
                     X[::2], y[::2], eval_set=[(X[1::2], y[1::2])],
                     callbacks=[lgb.early_stopping(3, verbose=False)],
                     categorical_feature=[0, 1])
    ens = lgb_reader.read(model)
    assert len(ens.trees) == model.best_iteration_ < 300
    _check_lgb(model, ens, probe_rows(ens, X[:150], max_nodes=60))
    booster = model.booster_
    ens = lgb_reader.read(booster)
    assert ens.kind == "classifier"
    Xp = probe_rows(ens, X[:150], max_nodes=60)
    ref = raw_predict(ens, Xp)
    np.testing.assert_allclose(ref["raw"][:, 0], booster.predict(Xp, raw_score=True),
                               rtol=0, atol=1e-12)
    np.testing.assert_allclose(ref["proba"][:, 1], booster.predict(Xp), rtol=0, atol=1e-12)


def test_lightgbm_unsupported():
    Xi, yi = _data("iris")
    y = Xi[:, 0]
    for params, match in [({"linear_tree": True}, "linear_tree"),
                          ({"reg_sqrt": True}, "reg_sqrt"),
                          ({"objective": "cross_entropy_lambda"},
                           "cross_entropy_lambda.*supported: binary")]:
        target = y / 10 if "objective" in params else y
        model = _lgb_fit(lgb.LGBMRegressor(n_estimators=2, verbose=-1, **params), Xi, target)
        with pytest.raises(ConversionError, match=match):
            lgb_reader.read(model)
    with pytest.raises(ConversionError, match="not a LightGBM model"):
        lgb_reader.read(object())


# ---------------------------------------------------------------- the whole path: C == library

def _split(X, y, seed: int = 0):
    rng = np.random.default_rng(seed)
    idx = rng.permutation(len(X))
    cut = int(0.7 * len(X))
    X = np.asarray(X, dtype=np.float32)
    return X[idx[:cut]], y[idx[:cut]], X[idx[cut:]], y[idx[cut:]]


def _conform(est, X, method: str = "loadable", compilers: bool = False):
    """check_conformance with the family's derived bounds (``ir.tolerances``: |C - exact|
    over these rows). LightGBM computes in float64, so that bound is |C - LightGBM|.
    XGBoost sums in float32 too, within (T + 1) u sum|terms| of the exact sum (no leaf
    rounding: at most the C's own bound), and its transforms round like the C's, so
    |C - XGBoost| is at most twice the bound."""
    from conformance import check_conformance

    import microlearn
    from microlearn.families.trees.ir import tolerances

    ir = microlearn.convert(est, method=method).ir
    tol = tolerances(ir, X)
    if type(est).__module__.startswith("xgboost"):
        tol = {k: 2 * v for k, v in tol.items()}
    return check_conformance(est, X, atol=tol, options={"method": method},
                             compilers=compilers)


def _conform_data(name: str):
    from sklearn.datasets import load_diabetes, load_digits

    loader = {"iris": load_iris, "wine": load_wine, "breast_cancer": load_breast_cancer,
              "digits": load_digits, "diabetes": load_diabetes}[name]
    X, y = loader(return_X_y=True)
    X = _with_missing(np.asarray(X, dtype=np.float32), seed=3, frac=0.03)
    return _split(X, y)


CONFORM_CLASSIFIERS = {
    "XGBClassifier": lambda: xgb.XGBClassifier(n_estimators=20, max_depth=3, n_jobs=1,
                                               random_state=0),
    "LGBMClassifier": lambda: lgb.LGBMClassifier(n_estimators=20, num_leaves=7, n_jobs=1,
                                                 random_state=0, verbose=-1),
}


@pytest.mark.parametrize("estimator", list(CONFORM_CLASSIFIERS))
@pytest.mark.parametrize(("dataset", "method"), [
    ("iris", "loadable"), ("iris", "inline"), ("wine", "loadable"),
    ("breast_cancer", "loadable"), ("digits", "loadable")])
def test_classifier_conformance(estimator, dataset, method):
    Xtr, ytr, Xte, _ = _conform_data(dataset)
    est = _lgb_fit(CONFORM_CLASSIFIERS[estimator](), Xtr, ytr)
    ens = (xgb_reader if estimator.startswith("XGB") else lgb_reader).read(est)
    X = probe_rows(ens, np.vstack([Xte, Xtr[:60]]), max_nodes=60, features=(0, 1))
    m = _conform(est, X, method, compilers=(dataset == "iris" and method == "loadable"))
    # LightGBM >= 4.7: decision_function is raw_score; XGBoost has none
    assert hasattr(m, "decision_function") == estimator.startswith("LGBM")


@pytest.mark.parametrize(("estimator", "objective"), [
    ("xgb", "reg:squarederror"), ("xgb", "count:poisson"), ("xgb", "reg:quantileerror"),
    ("xgb", "reg:logistic"), ("xgb", "two_targets"),
    ("lgb", "regression"), ("lgb", "poisson"), ("lgb", "huber"), ("lgb", "quantile"),
    ("lgb", "cross_entropy")])
def test_regressor_conformance(estimator, objective):
    Xtr, ytr, Xte, _ = _conform_data("diabetes")
    if objective in ("reg:logistic", "cross_entropy"):
        ytr = (ytr - ytr.min()) / (ytr.max() - ytr.min())
    if objective == "two_targets":  # one tree per target and round (tree_info)
        objective, ytr = "reg:squarederror", np.stack([ytr, -0.5 * ytr], axis=1)
    if estimator == "xgb":
        kw = {"quantile_alpha": np.array([0.1, 0.5, 0.9])} if "quantile" in objective else {}
        est = xgb.XGBRegressor(n_estimators=20, max_depth=3, objective=objective, n_jobs=1,
                               random_state=0, **kw)
    else:
        est = lgb.LGBMRegressor(n_estimators=20, num_leaves=7, objective=objective,
                                n_jobs=1, random_state=0, verbose=-1)
    est = _lgb_fit(est, Xtr, ytr)
    reader = xgb_reader if estimator == "xgb" else lgb_reader
    X = probe_rows(reader.read(est), np.vstack([Xte, Xtr[:60]]), max_nodes=60,
                   features=(0, 2))
    _conform(est, X)


@pytest.mark.parametrize("missing", [np.nan, 0.0])
def test_xgboost_categorical_conformance(missing):
    rng = np.random.default_rng(2)
    n = 500
    c = rng.integers(0, 12, n).astype(np.float32)
    z = rng.normal(size=n).astype(np.float32)
    z[rng.random(n) < 0.1] = np.nan
    z[rng.random(n) < 0.1] = missing
    X = np.stack([c, rng.integers(0, 3, n).astype(np.float32), z], axis=1)
    y = ((c % 3 == 0) ^ (np.nan_to_num(z) > 0.3) ^ (X[:, 1] == 1)).astype(int)
    est = xgb.XGBClassifier(n_estimators=20, max_depth=4, enable_categorical=True,
                            feature_types=["c", "c", "q"], missing=missing, n_jobs=1,
                            random_state=0).fit(X, y)
    Xp = probe_rows(xgb_reader.read(est), X[:200], max_nodes=60)
    _conform(est, Xp)


@pytest.mark.parametrize("params", [{}, {"use_missing": False}, {"objective": "multiclassova"}],
                         ids=["default", "use_missing=False", "multiclassova"])
def test_lightgbm_categorical_conformance(params):
    X, y, c = _lgb_cat_data(3)
    if params.get("objective") == "multiclassova":
        y = (np.nan_to_num(c).astype(int) + y) % 3
    est = _lgb_fit(lgb.LGBMClassifier(n_estimators=20, num_leaves=15, min_child_samples=5,
                                      cat_smooth=1, min_data_per_group=5, n_jobs=1,
                                      random_state=0, verbose=-1, **params),
                   X, y, categorical_feature=[0, 1])
    Xp = probe_rows(lgb_reader.read(est), X[:200], max_nodes=60)
    _conform(est, Xp)


def test_boosters_convert():
    """A raw Booster converts too (classes 0..k-1); its predict is the probabilities."""
    import microlearn

    Xtr, ytr, Xte, _ = _conform_data("iris")
    b = xgb.train({"objective": "multi:softprob", "num_class": 3, "max_depth": 3,
                   "nthread": 1}, xgb.DMatrix(Xtr, ytr), num_boost_round=10)
    m = microlearn.convert(b)
    ir = m.ir
    from microlearn.families.trees.ir import tolerances

    tol = 2 * tolerances(ir, Xte)["predict_proba"]
    np.testing.assert_allclose(m.predict_proba(Xte), b.predict(xgb.DMatrix(Xte)), rtol=0,
                               atol=tol)
    lb = _lgb_fit(lgb.LGBMClassifier(n_estimators=10, verbose=-1, n_jobs=1), Xtr,
                  ytr).booster_
    m = microlearn.convert(lb)
    tol = tolerances(m.ir, Xte)["predict_proba"]
    np.testing.assert_allclose(m.predict_proba(Xte), lb.predict(Xte), rtol=0, atol=tol)
    np.testing.assert_array_equal(m.predict(Xte), np.argmax(lb.predict(Xte), axis=1))
    # Booster.predict of binary:logitraw is the margin: a regressor; so is an LGBMRegressor
    # with objective="binary" (its predict is the probability)
    Xb, yb = _data("breast_cancer")
    raw = xgb.train({"objective": "binary:logitraw", "max_depth": 3, "nthread": 1},
                    xgb.DMatrix(Xb, yb), num_boost_round=10)
    m = microlearn.convert(raw)
    assert m.kind == "regressor"
    np.testing.assert_allclose(m.predict(Xb), raw.predict(xgb.DMatrix(Xb)), rtol=0,
                               atol=2 * tolerances(m.ir, Xb)["predict"])
    reg = _lgb_fit(lgb.LGBMRegressor(objective="binary", n_estimators=10, n_jobs=1,
                                     verbose=-1), Xb, yb)
    m = _conform(reg, Xb)
    assert m.kind == "regressor"


def test_lightgbm_zero_as_missing_against_comparison_is_refused():
    """zero_as_missing=True: a node whose default branch is not where its comparison sends
    0.0 needs two comparisons (0 one way, its neighbours the other); the C has one per node,
    so convert() refuses it with a ConversionError (raw_predict handles it: see
    test_lightgbm_missing_and_categorical)."""
    import microlearn

    X, y, _ = _lgb_cat_data(3)
    est = _lgb_fit(lgb.LGBMClassifier(n_estimators=20, num_leaves=15, zero_as_missing=True,
                                      n_jobs=1, random_state=0, verbose=-1), X, y)
    ens = lgb_reader.read(est)
    zero = [(t.threshold[i] >= 0) != t.default_left[i] for t in ens.trees
            for i in np.flatnonzero(t.missing_type == 2)]
    assert any(zero)
    with pytest.raises(ConversionError, match="zero_as_missing"):
        microlearn.convert(est)


@pytest.mark.parametrize("library", ["xgboost", "lightgbm"])
def test_micropython_unix_port(library, tmp_path):
    """A categorical model with missing values in the unix MicroPython port (x64 native
    module): every output bit-identical to the host build of the same C."""
    from test_micropython_families import _assert_bit_identical, _run_unix

    import microlearn

    if library == "xgboost":
        rng = np.random.default_rng(4)
        n = 400
        c = rng.integers(0, 10, n).astype(np.float32)
        z = rng.normal(size=n).astype(np.float32)
        z[rng.random(n) < 0.1] = np.nan
        X = np.stack([c, z], axis=1)
        y = ((c % 3 == 0) ^ (np.nan_to_num(z) > 0.3)).astype(int)
        est = xgb.XGBClassifier(n_estimators=10, max_depth=3, enable_categorical=True,
                                feature_types=["c", "q"], n_jobs=1, random_state=0)
        est.fit(X, y)
        ens = xgb_reader.read(est)
    else:
        X, y, _ = _lgb_cat_data(5)
        est = _lgb_fit(lgb.LGBMClassifier(n_estimators=10, num_leaves=7, min_child_samples=5,
                                          cat_smooth=1, min_data_per_group=5, n_jobs=1,
                                          random_state=0, verbose=-1),
                       X, y, categorical_feature=[0, 1])
        ens = lgb_reader.read(est)
    m = microlearn.convert(est)
    Xp = probe_rows(ens, X[:100], max_nodes=30)
    host, dev = _run_unix(m, Xp, tmp_path)
    _assert_bit_identical(host, dev, m, est)
    np.testing.assert_array_equal(m.predict(Xp), est.predict(Xp))
