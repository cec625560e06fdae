"""IR -> C: float32 tables, the ``P__model`` descriptor and the kernels (on ml_neighbors.h)."""

from __future__ import annotations

import numpy as np

from ...family import CCode
from ...progmem import const_tables, flash_struct
from .ir import KINDS, METRICS, WEIGHTS, NeighborsIR


def _codegen():
    from ... import codegen  # lazily: the generic layer is being restructured

    return codegen


def tables(ir: NeighborsIR) -> dict[str, tuple[str, np.ndarray]]:
    """Name -> (C type, values) of the constant tables, in the descriptor's order."""
    t: dict[str, tuple[str, np.ndarray]] = {"points": ("float", ir.points.ravel())}
    if ir.kind == "knn_classifier":
        assert ir.labels is not None
        t["labels"] = ("uint16_t", ir.labels.astype(np.uint16))
    elif ir.kind == "knn_regressor":
        assert ir.targets is not None
        t["targets"] = ("float", ir.targets.ravel())
    elif ir.kind == "centroid":
        assert ir.inv_scale is not None and ir.norm_points is not None and ir.bias is not None
        t["inv_scale"] = ("float", ir.inv_scale)
        t["norm_points"] = ("float", ir.norm_points.ravel())
        t["bias"] = ("float", ir.bias)
    else:
        assert ir.k_distance is not None and ir.lrd is not None
        t["k_distance"] = ("float", ir.k_distance)
        t["lrd"] = ("float", ir.lrd)
    return t


def data_bytes(ir: NeighborsIR) -> int:
    """Bytes of the constant tables (the training set dominates) plus the descriptor."""
    size = {"float": 4, "uint16_t": 2}
    return sum(size[ct] * int(v.size) for ct, v in tables(ir).values()) + 76


def describe_line(ir: NeighborsIR) -> str:
    metric = ir.metric if ir.metric != "minkowski" else f"minkowski p={ir.p:g}"
    if ir.kind == "centroid":
        return f"NearestCentroid ({ir.n_outputs} centroids x {ir.n_features} features, {metric})"
    what = f"{ir.n_points} points x {ir.n_features} features, k={ir.k}, {metric}"
    if ir.kind != "lof":
        what += f", {ir.weights} weights"
    return f"{ir.estimator} ({what})"


def c_code(ir: NeighborsIR, P: str) -> CCode:
    """Tables, the ``P__model`` descriptor and the kernels of the signature."""
    cg = _codegen()
    out = [f"/* {cg.c_comment(describe_line(ir))}; brute-force scan, float32 points */\n"]
    names: dict[str, str] = {}
    for key, (ctype, arr) in tables(ir).items():
        names[key] = f"{P}__{key}"
        vals = cg.c_ints(arr) if ctype == "uint16_t" else cg.c_floats(arr)
        out.append(cg.c_array(ctype, names[key], vals))
    null = "NULL"
    fields = [
        str(KINDS.index(ir.kind)), str(METRICS.index(ir.metric)),
        str(WEIGHTS.index(ir.weights)), str(ir.n_features), str(ir.n_points),
        str(ir.n_outputs), str(ir.k), str(ir.flags), cg.c_float(ir.p),
        cg.c_float(np.float32(1.0) / np.float32(ir.p)), cg.c_float(ir.offset),
        names["points"],
    ] + [names.get(key, null) for key in ("labels", "targets", "inv_scale", "norm_points",
                                          "bias", "k_distance", "lrd")]
    out.append(f"static const ml_neighbors_t {P}__model = {{\n    " + ",\n    ".join(fields)
               + "\n};\n")
    scratch = f"    float scratch[{ir.scratch_floats}];\n"

    def kernel(sig: str, call: str) -> None:
        out.append(f"static inline {sig}\n{{\n{scratch}{call}}}\n")

    M = f"&{P}__model"
    if ir.kind == "knn_classifier":
        kernel(f"int32_t {P}__predict(const float *x)",
               f"    return ml_neighbors_knn_class({M}, x, scratch);\n")
        kernel(f"void {P}__predict_proba(const float *x, float *ML_RESTRICT out)",
               f"    ml_neighbors_knn_proba({M}, x, out, scratch);\n")
    elif ir.kind == "knn_regressor":
        kernel(f"void {P}__regress(const float *x, float *ML_RESTRICT out)",
               f"    ml_neighbors_knn_regress({M}, x, out, scratch);\n")
    elif ir.kind == "centroid":
        kernel(f"int32_t {P}__predict(const float *x)",
               f"    return ml_neighbors_centroid_predict({M}, x, scratch);\n")
        if ir.has_decision:
            kernel(f"void {P}__predict_proba(const float *x, float *ML_RESTRICT out)",
                   f"    (void)scratch;\n    ml_neighbors_centroid_proba({M}, x, out);\n")
            kernel(f"void {P}__decision_function(const float *x, float *ML_RESTRICT out)",
                   f"    ml_neighbors_centroid_decision({M}, x, out, scratch);\n")
    else:
        kernel(f"int32_t {P}__predict(const float *x)",
               f"    return ml_neighbors_lof_score({M}, x, scratch) - {P}__model.offset < 0.0f"
               " ? -1 : 1;\n")
        kernel(f"void {P}__decision_function(const float *x, float *ML_RESTRICT out)",
               f"    out[0] = ml_neighbors_lof_score({M}, x, scratch) - {P}__model.offset;\n")
        kernel(f"float {P}__score_samples(const float *x)",
               f"    return ml_neighbors_lof_score({M}, x, scratch);\n")
    # tables and struct are ML_CONST (program memory on AVR; ml_neighbors.h reads them so)
    body = flash_struct(const_tables("".join(out)), f"{P}__model", "ml_neighbors_t", f"{P}__m")
    return CCode(runtime=("ml_neighbors.h",), body=body, libm=False)
