"""Train the platform samples' model and write its C: ``model.h`` (the converted model)
and ``rows.h`` (held-out rows the sample classifies on the device).

    python examples/platforms/train.py [OUT_DIR]     (default: examples/platforms/generated)

Every platform sample (plain CMake, ESP-IDF, PlatformIO, Zephyr) includes these two files;
run this once before building one. Needs microlearn (``pip install microlearn``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import train_test_split

import microlearn


def train() -> tuple[RandomForestClassifier, np.ndarray]:
    """The sample's model (a small random forest on iris) and its held-out rows."""
    data = load_iris(as_frame=True)
    X = data.data.set_axis([c.replace(" (cm)", "") for c in data.data.columns], axis=1)
    y = data.target_names[data.target]
    X_train, X_test, y_train, _ = train_test_split(X, y, test_size=0.2, random_state=0,
                                                   stratify=y)
    clf = RandomForestClassifier(n_estimators=10, max_depth=5, random_state=0)
    clf.fit(X_train, y_train)
    return clf, X_test.to_numpy(dtype=np.float32)


def rows_header(rows: np.ndarray) -> str:
    """``rows.h``: the rows as a C array (exact float32 literals)."""
    from microlearn.codegen import c_floats

    lines = [f"    {{{', '.join(c_floats(r))}}}," for r in rows]
    return ("/* Held-out iris rows for the platform samples (examples/platforms/train.py). */\n"
            "#ifndef SAMPLE_ROWS_H\n#define SAMPLE_ROWS_H\n\n"
            f"#define SAMPLE_N_ROWS {len(rows)}\n"
            f"static const float sample_rows[SAMPLE_N_ROWS][{rows.shape[1]}] = {{\n"
            + "\n".join(lines) + "\n};\n\n#endif /* SAMPLE_ROWS_H */\n")


def main(out: Path) -> None:
    clf, rows = train()
    out.mkdir(parents=True, exist_ok=True)
    model = microlearn.convert(clf)
    model.save(out / "model.h", name="iris")
    (out / "rows.h").write_text(rows_header(rows))
    print(f"wrote {out / 'model.h'} and {out / 'rows.h'} ({len(rows)} rows): "
          f"{model._describe_line()}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "generated")
