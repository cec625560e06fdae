# microlearn_mp (split build): picks one native module per family from a model file.
#
# Written as microlearn_mp.py by `microlearn micropython build --split`, next to the
# family modules microlearn_mp_<family>.mpy (each carrying one family's engine, so a device
# installs - and pays heap for - only the families its models use). Same API as the single
# native module:
#
#   import array, microlearn_mp as ml
#   model = ml.load("model.mlb")       # or ml.load_at(address, size)
#   model.predict(x)                   # and predict_proba / decision_function /
#                                      # score_samples / regress / transform (x, out)
#
# A file whose sections all belong to one family is loaded by that family's module and
# returned as is (no Python layer per call). A pipeline mixing families is loaded step by
# step; predict etc. run the steps one after the other through preallocated arrays (no
# allocation per call).
import array
import struct

FAMILY_NAMES = {1: "trees", 2: "linear", 3: "svm", 4: "naive_bayes", 5: "mixture",
                6: "neighbors", 7: "preprocessing", 8: "nets", 9: "dsp"}
_modules = {}


def _module(family_id):
    name = FAMILY_NAMES.get(family_id)
    if name is None:
        raise ValueError("model blob: model family not supported")
    mod = _modules.get(name)
    if mod is None:
        try:
            mod = __import__("microlearn_mp_" + name)
        except ImportError:
            mod = None
        if mod is None:
            raise ValueError("model blob: needs the module microlearn_mp_" + name
                             + " (install it next to microlearn_mp)")
        _modules[name] = mod
    return mod


def _families(data):
    if len(data) < 16 or bytes(data[0:4]) != b"MLRN":
        raise ValueError("model blob: corrupt, truncated or not a model")
    version, count = struct.unpack_from("<HH", data, 4)
    if version == 1:
        return [1]
    if version != 2 or not 1 <= count <= 16 or len(data) < 16 + 16 * count:
        raise ValueError("model blob: corrupt, truncated or not a model")
    return [struct.unpack_from("<H", data, 16 + 16 * i)[0] for i in range(count)]


class Pipeline:
    """Steps of different families, each a family module's model of one section."""

    def __init__(self, steps):
        for i in range(1, len(steps)):
            if steps[i - 1].n_outputs() != steps[i].n_features():
                raise ValueError("model blob: corrupt, truncated or not a model")
        self._steps = steps
        self._front = steps[:-1]
        self._last = steps[-1]
        self._bufs = [array.array("f", [0.0] * s.n_outputs()) for s in self._front]

    def _input(self, x):
        bufs = self._bufs
        for i in range(len(bufs)):
            self._front[i].transform(x, bufs[i])
            x = bufs[i]
        return x

    def predict(self, x):
        return self._last.predict(self._input(x))

    def predict_proba(self, x, out):
        self._last.predict_proba(self._input(x), out)

    def decision_function(self, x, out):
        self._last.decision_function(self._input(x), out)

    def score_samples(self, x, out):
        self._last.score_samples(self._input(x), out)

    def regress(self, x, out):
        self._last.regress(self._input(x), out)

    def transform(self, x, out):
        self._last.transform(self._input(x), out)

    def n_features(self):
        return self._steps[0].n_features()

    def n_outputs(self):
        return self._last.n_outputs()

    def n_steps(self):
        return len(self._steps)

    def task(self):
        return self._last.task()

    def is_classifier(self):
        return self._last.is_classifier()


def _load(data, loader):
    fams = _families(data)
    if all(f == fams[0] for f in fams):
        return loader(_module(fams[0]), -1)
    return Pipeline([loader(_module(f), i) for i, f in enumerate(fams)])


def load(src):
    if isinstance(src, str):
        with open(src, "rb") as f:
            head = f.read(16 + 16 * 16)  # the header and the largest section table
        fams = _families(head)
        if all(f == fams[0] for f in fams):
            # the family module reads the file itself, into one block of the file's size
            return _module(fams[0]).load(src)
        with open(src, "rb") as f:  # a mixed pipeline: read once, every step reads in place
            src = f.read()
    return _load(src, lambda mod, i: mod.load(src) if i < 0 else mod.load(src, i))


def load_at(address, size):
    import uctypes

    data = uctypes.bytearray_at(address, size)  # read the headers only; modules read in place
    head = bytes(data[:16 + 16 * 16]) if size >= 16 else bytes(data)
    fams = _families(head)
    if all(f == fams[0] for f in fams):
        return _module(fams[0]).load_at(address, size)
    return Pipeline([_module(f).load_at(address, size, i) for i, f in enumerate(fams)])
