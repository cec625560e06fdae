# microlearn_mp viper engine: tree ensembles in MicroPython machine code, no C toolchain.
#
# `microlearn micropython build --engine viper --arch ARCH` (the default for xtensawin:
# ESP32, ESP32-S2/S3) appends this file to the pure-Python module microlearn_mp.py and
# compiles the whole with mpy-cross -march=ARCH (mpy-cross-v6.3: MicroPython 1.23+
# firmware): the functions marked @micropython.viper below become native code inside
# microlearn_mp.mpy. Same API as the C module and the fallback:
#
#   import array, microlearn_mp as ml
#   model = ml.load("model.mlb")        # path, or bytes / bytearray / memoryview
#   model.predict(x)                    # x: array("f") of n_features; class index
#   model.predict_proba(x, out)         # out: array("f") of >= n_outputs
#   model.regress(x, out)
#   model.decision_function(x, out)     # boosted classifiers, isolation forests
#   model.score_samples(x, out)         # isolation forests
#
# Loading: the fallback's Model validates the file (the same checks and ValueError as the
# C loader), then _vbuild turns the file's node tables (any feature / child width, compact
# children, per-node or indexed thresholds) into one record of 16 bytes per node in a
# private buffer, with the leaf tables copied next to them, and the fallback's tables are
# dropped: later changes to the caller's buffer cannot reach the model. A call is one
# viper function (_vrun, then _vsum): at a node, x[feature] <= threshold is compared as
# order-preserving unsigned integer keys of the float32 bits (as the soft-float C path;
# NaN follows the node's NaN routing), and the leaf sums and the mean are float32
# additions and a multiplication done in integers (round to nearest even, subnormals), so
# the results are the C engine's bit for bit and no float object (no heap) is made per
# call. The arrays' type, typecode and length are read from the objects (id()), so no
# Python code checks them per call. Plain forests and decision trees of every table
# layout, and boosted ensembles (layout 2: _bcheck validates their block as the C loader;
# _vboost routes missing values and categorical nodes, _vbsum adds base scores and leaf
# values in integers, the class is an integer comparison of keys; the post transforms,
# sigmoid / softmax / exp, are ml_expf's float32 steps in Python floats, which allocate).
# Weighted-median ensembles (AdaBoostRegressor): _vmedian, ml_trees_weighted_median's
# answer from a binary search over the sorted values (keys), the weight sums float32
# additions in integers in the C's order, scratch in the model's buffer (no allocation).
# Other families and pipelines need the C module.
# Not standalone: it uses the fallback's names (array, struct, Model, _typecode), and
# viper's (ptr8, ptr16, ptr32, uint).
# ruff: noqa: F821
import micropython

_PyModel = Model  # the fallback's class (defined above it in the built module)

# Layout of a model's private buffer (bytearray, every table 4-aligned), built at load by
# _vbuild from the file's tables of any widths:
#   words 0 .. _N_PRM-1: the parameters below (u32)
#   records: one per decision node, 16 bytes: threshold key, 4 * feature, left, right;
#     a child (and a root) is a code: the byte offset of a node's record from the first
#     record (< 16 * n_nodes), or 16 * n_nodes + leaf id
#   roots (n_trees codes), leaf id per tree (n_trees),
#   leaf values (f32), leaf_start / leaf_index (u16, sparse rows), nan_left bitset
_P_NF, _P_NO, _P_NT, _P_BASE, _P_LIM, _P_REC, _P_ROOTS = 0, 1, 2, 3, 4, 5, 6  # 7: unused
_P_LIDS, _P_VAL, _P_START, _P_INDEX, _P_NAN, _P_INV, _P_SPARSE = 8, 9, 10, 11, 12, 13, 14
# the file's tables (offsets in the source section), read by _vbuild only
_P_FB, _P_CB, _P_TK, _P_NIDS, _P_FFEAT, _P_FTHR, _P_FLEFT = 15, 16, 17, 18, 19, 20, 21
_P_FRIGHT, _P_FROOTS, _P_FTV, _P_NN = 22, 23, 24, 25
# the array type (two words: its address), object word bytes
_P_ATYPE, _P_W = 26, 28
# boosted ensembles (layout 2; _P_POST 0: a plain forest): post transform, raw scores,
# leaf row width, flags, key of the missing value (0: none), decision threshold (bits),
# tables (base scores f32, tree output column u16, categorical offset per node u32 and the
# category sets; offset 0: none), methods (bit op), kind, decision_function width
_P_POST, _P_NRAW, _P_RW, _P_FLAGS, _P_MKEY, _P_DTHR = 29, 30, 31, 32, 33, 34
_P_BASEV, _P_TOUT, _P_CAT, _P_CATB, _P_OPS, _P_KIND, _P_NDEC = 35, 36, 37, 38, 39, 40, 41
# weighted-median ensembles (post 8, AdaBoostRegressor): the tree weights (f32), half
# their float32 total (bits), scratch for the trees' values, their keys and the sorted
# keys (n_trees each)
_P_MW, _P_MHALF, _P_MV, _P_MK, _P_MS = 42, 43, 44, 45, 46
_N_PRM = 47


@micropython.viper
def _vbuild(buf, src, fid: uint):
    # the node records and roots of buf from the file's node tables in src (the section)
    P = ptr32(buf)
    b = uint(ptr8(buf))
    s = uint(ptr8(src))
    nn = P[25]
    nt = P[2]
    fb = P[15]
    cb = P[16]
    tk = P[17]
    nids = uint(P[18])
    lim = uint(P[4])
    rec = b + uint(P[5])
    pnan = ptr8(b + uint(P[12]))
    nan_on = P[12]
    ff = uint(0xFFFF)
    m32 = (ff << 16) | ff
    sign = uint(1) << 31
    absm = m32 >> 1
    expm = uint(0xFF) << 23
    zero = uint(0)
    # the array type (the first word of an array object: fid = id(array("f")))
    P[26] = ptr32(fid)[0]
    P[27] = ptr32(fid)[1]
    rb = cb
    if cb == 0:
        rb = 4
    n = 0
    while n < nn + nt:
        # node n's children (n < nn), or root n - nn
        side = 0
        while side < 2:
            if n >= nn:
                w = rb
                o = uint(P[23]) + uint(rb * (n - nn))
            else:
                w = cb
                if side == 0:
                    o = uint(P[21]) + uint(cb * n)
                else:
                    o = uint(P[22]) + uint(cb * n)
                if cb == 0:
                    w = 1
                    o = uint(P[21 + side]) + uint(n)
            if w == 1:
                c = uint(ptr8(s + o)[0])
            elif w == 2:
                c = uint(ptr16(s + o)[0])
            else:
                c = uint(ptr32(s + o)[0])
            if cb == 0 and n < nn:
                if c < nids:
                    code = lim + c
                else:
                    code = uint(16 * (n + int(c - nids) + 1))
            else:
                h = uint(1) << uint(8 * w - 1)
                if c >= h:
                    code = lim + ((h | (h - 1)) - c)
                else:
                    code = c << 4
            if n >= nn:
                ptr32(b + uint(P[6]) + uint(4 * (n - nn)))[0] = code
                side = 2
            else:
                ptr32(rec + uint(16 * n) + uint(8 + 4 * side))[0] = code
                side += 1
        if n < nn:
            r = rec + uint(16 * n)
            if fb == 1:
                f = uint(ptr8(s + uint(P[19]))[n])
            elif fb == 2:
                f = uint(ptr16(s + uint(P[19]))[n])
            else:
                f = uint(ptr32(s + uint(P[19]))[n])
            ptr32(r)[1] = f << 2
            if tk:
                u = uint(ptr32(s + uint(P[24]))[ptr8(s + uint(P[20]))[n]])
            else:
                u = uint(ptr32(s + uint(P[20]))[n])
            if (u & absm) > expm:
                # a NaN threshold: x <= t and x > t are both false; in a forest x always
                # takes the NaN routing (the right child is made that one), in a boosted
                # ensemble a number goes right
                k = zero
                if nan_on and P[29] == 0 and (pnan[n >> 3] >> (n & 7)) & 1:
                    ptr32(r)[3] = ptr32(r)[2]
            elif u > sign:
                k = u ^ m32
            else:
                k = (u & absm) | sign
            ptr32(r)[0] = k
        n += 1


@micropython.viper
def _vrun(buf, xid: uint, aid: uint, op: int, x, out) -> int:
    # op 0 predict: the class (first maximum of the sum of the leaf rows); 1 predict_proba,
    # 2 regress: out = the mean of the leaf rows (the sum times 1/n_trees); float32 sums.
    # Boosted ensembles (_vboost): 0 the class (0 / 1 outlier / inlier), 1 - 4 (predict_proba,
    # regress, decision_function, score_samples): out = the raw scores (the caller applies
    # the post transform).
    # x, out: the arrays' objects by address (xid = id(x), aid = id(out)), checked here
    # (an array of typecode "f" and the right length); op | 8: by buffer (x, out: checked
    # by the caller). Returns >= 0, or -1 bad x, -2 bad out, -3 not this model's method.
    P = ptr32(buf)
    b = uint(ptr8(buf))
    nf = P[0]
    no = P[1]
    w = P[28]
    uw = uint(w)
    if not (P[39] >> (op & 7)) & 1:
        return -3
    if (op & 7) == 3:
        no = P[41]
    elif (op & 7) == 4:
        no = 1
    if op & 8:
        op = op & 7
        xb = uint(ptr8(x))
    else:
        # an array object: the type, the typecode (low byte of the next word), len, items
        if xid & (uw - 1) or uint(ptr32(xid)[0]) != uint(P[26]):
            return -1
        if w == 8 and uint(ptr32(xid)[1]) != uint(P[27]):
            return -1
        if ptr8(xid + uw)[0] != 102 or ptr32(xid + 2 * uw)[0] != nf:
            return -1
        xb = uint(ptr32(xid + 3 * uw)[0])
        if w == 8:
            xb |= uint(ptr32(xid + 28)[0]) << 32
        if op:
            if aid & (uw - 1) or uint(ptr32(aid)[0]) != uint(P[26]):
                return -2
            if w == 8 and uint(ptr32(aid)[1]) != uint(P[27]):
                return -2
            if ptr8(aid + uw)[0] != 102 or ptr32(aid + 2 * uw)[0] < no:
                return -2
    if P[29] and (P[33] or P[37]):
        return int(_vboost(buf, xb, out, op))  # categorical nodes or a missing value
    nt = P[2]
    lim = uint(P[4])
    rec = b + uint(P[5])
    roots = b + uint(P[6])
    lids = b + uint(P[8])
    pnan = ptr8(b + uint(P[12]))
    nan_on = P[12]
    ff = uint(0xFFFF)
    m32 = (ff << 16) | ff
    sign = uint(1) << 31
    expm = uint(0xFF) << 23
    pinf = expm | sign  # key of +inf: above it, NaN
    # the leaf each tree gives x. At a node, x[feature] <= threshold is compared as
    # order-preserving unsigned keys of the float32 bits (the threshold's made at load):
    # negative -> bits ^ 0xFFFFFFFF, else bits | 0x80000000 (+0.0 and -0.0 one key); NaN ->
    # above the key of +inf, where the node's NaN routing applies
    nt4 = uint(4 * nt)
    t = uint(0)
    while t < nt4:
        o = uint(ptr32(roots + t)[0])
        while o < lim:
            r = rec + o
            u = uint(ptr32(xb + uint(ptr32(r)[1]))[0])
            if u > sign:
                if u > pinf:
                    u = m32  # a negative NaN
                else:
                    u = u ^ m32
            else:
                u = u | sign
            if u <= uint(ptr32(r)[0]):
                o = uint(ptr32(r)[2])
            elif nan_on and u > pinf and (pnan[o >> 7] >> ((o >> 4) & 7)) & 1:
                o = uint(ptr32(r)[2])
            else:
                o = uint(ptr32(r)[3])
        ptr32(lids + t)[0] = o - lim
        t += 4
    if P[29]:
        return int(_vboost(buf, 0, out, op))  # the raw scores of a boosted ensemble
    return int(_vsum(buf, out, op))


@micropython.viper
def _vboost(buf, xb: uint, out, op: int) -> int:
    # a boosted ensemble (the C engine's general route): the leaf of each tree, with the
    # missing value (NaN, and x == missing with its flag) and categorical nodes, then the
    # raw scores in out (float32 sums in integers, _vbsum); op 0: the class from them.
    # xb == 0: the leaves are known (_vrun's route, the same for a boosted ensemble
    # without categorical nodes or a missing value: its NaN thresholds send numbers right)
    P = ptr32(buf)
    b = uint(ptr8(buf))
    nt = P[2]
    lim = uint(P[4])
    rec = b + uint(P[5])
    roots = b + uint(P[6])
    lids = b + uint(P[8])
    pnan = ptr8(b + uint(P[12]))
    nan_on = P[12]
    mk = uint(P[33])
    cat = P[37]
    pcat = ptr32(b + uint(cat))
    ff = uint(0xFFFF)
    m32 = (ff << 16) | ff
    sign = uint(1) << 31
    absm = m32 >> 1
    expm = uint(0xFF) << 23
    nt4 = uint(4 * nt)
    t = uint(0)
    if xb == uint(0):
        t = nt4
    while t < nt4:
        o = uint(ptr32(roots + t)[0])
        while o < lim:
            r = rec + o
            n = int(o >> 4)
            u = uint(ptr32(xb + uint(ptr32(r)[1]))[0])
            if u > sign:
                k = u ^ m32
            else:
                k = u | sign
            miss = 0
            if (u & absm) > expm:
                miss = 1
            elif mk and k == mk:
                miss = 1
            left = 0
            if cat and pcat[n]:
                br = -1  # 1 left, 0 right, -1 missing
                if not miss:
                    br = int(_vcat(buf, uint(pcat[n]), u))
                if br < 0:
                    if nan_on and (pnan[n >> 3] >> (n & 7)) & 1:
                        left = 1
                elif br:
                    left = 1
            elif miss:
                if nan_on and (pnan[n >> 3] >> (n & 7)) & 1:
                    left = 1
            elif k <= uint(ptr32(r)[0]):
                left = 1
            if left:
                o = uint(ptr32(r)[2])
            else:
                o = uint(ptr32(r)[3])
        ptr32(lids + t)[0] = o - lim
        t += 4
    if P[29] == 8:
        _vmedian(buf, out)
    else:
        _vbsum(buf, out)
    if op:
        return 0
    pa = ptr32(out)
    nraw = P[30]
    if nraw == 1:
        # one raw score: class 1 iff raw > threshold (>= with the flag); an outlier
        # detector: 0 (outlier) iff raw < threshold; a NaN compares false
        u = uint(pa[0])
        v = uint(P[34])
        if (u & absm) > expm or (v & absm) > expm:
            return 0 if P[40] == 0 else 1
        if u > sign:
            ku = u ^ m32
        else:
            ku = u | sign
        if v > sign:
            kv = v ^ m32
        else:
            kv = v | sign
        if P[40] == 2:
            return 0 if ku < kv else 1
        if P[32] & 8:
            return 1 if ku >= kv else 0
        return 1 if ku > kv else 0
    # the first maximum (float comparison: a NaN is never greater)
    best = 0
    kb = uint(0)
    i = 0
    while i < nraw:
        u = uint(pa[i])
        if (u & absm) > expm:
            k = m32  # NaN
        elif u > sign:
            k = u ^ m32
        else:
            k = (u & absm) | sign
        if i == 0:
            kb = k
        elif k > kb and kb != m32 and k != m32:
            best = i
            kb = k
        i += 1
    return best


@micropython.viper
def _vcat(buf, off: uint, u: uint) -> int:
    # categorical node with sets at word off of the category table, x = float32 bits u
    # (not missing): 1 left, 0 right, -1 missing (the C engine's ml_trees_cat_branch)
    P = ptr32(buf)
    b = uint(ptr8(buf))
    fl = uint(P[32])
    cast = (fl >> 4) & 3
    s = ptr32(b + uint(P[38]) + 4 * off)
    ff = uint(0xFFFF)
    m32 = (ff << 16) | ff
    absm = m32 >> 1
    e = (u >> 23) & 0xFF
    c = -1  # the category, -1: not a valid one
    if (u & absm) == uint(0):
        c = 0  # +-0.0
    elif u >> 31:
        if cast == uint(2) and e < uint(127):
            c = 0  # -1 < x < 0, truncated toward zero
    elif e >= uint(158):
        c = -1  # x >= 2^31 (and +inf)
    elif e < uint(127):
        if cast:
            c = 0  # 0 < x < 1
    else:
        m = (u & ((uint(1) << 23) - 1)) | (uint(1) << 23)
        if e >= uint(150):
            c = int(m << (e - 150))
        else:
            c = int(m >> (150 - e))
            if cast == uint(0) and m & ((uint(1) << (150 - e)) - 1):
                c = -1  # not an integer
    wn = uint(s[0])
    if c >= 0 and (uint(c) >> 5) < wn:
        word = uint(c) >> 5
        bit = uint(c) & 31
        if (uint(s[1 + int(word)]) >> bit) & 1:
            return 1
        if fl & 2:
            return 0 if (uint(s[1 + int(wn + word)]) >> bit) & 1 else -1
    elif fl & 2:
        return -1
    if c < 0 and fl & 4:
        return -1
    return 0


@micropython.viper
def _vbsum(buf, acc):
    # a boosted ensemble's raw scores: acc = base scores + each tree's leaf row (or its
    # one value added to the tree's output column), float32 additions in integers (any
    # signs inline, _vadd for zeros, subnormals, infinities and NaN)
    P = ptr32(buf)
    pa = ptr32(acc)
    b = uint(ptr8(buf))
    nt = P[2]
    lids = ptr32(b + uint(P[8]))
    pval = ptr32(b + uint(P[9]))
    pstart = ptr16(b + uint(P[10]))
    pidx = ptr16(b + uint(P[11]))
    sparse = P[14]
    nraw = P[30]
    rw = P[31]
    pbase = ptr32(b + uint(P[35]))
    tout = P[36]
    ptout = ptr16(b + uint(tout))
    ff = uint(0xFFFF)
    m32 = (ff << 16) | ff
    sign = uint(1) << 31
    absm = m32 >> 1
    expm = uint(0xFF) << 23
    mant = (uint(1) << 23) - 1
    impl = uint(1) << 23
    impl2 = impl << 1
    zero = uint(0)
    i = 0
    while i < nraw:
        pa[i] = pbase[i]
        i += 1
    t = 0
    while t < nt:
        leaf = lids[t]
        d0 = 0  # output column of the tree's row
        if tout:
            d0 = ptout[t]
        if sparse:
            j = pstart[leaf]
            j1 = pstart[leaf + 1]
        else:
            j = leaf * rw
            j1 = j + rw
            d0 -= j
        while j < j1:
            if sparse:
                d = d0 + pidx[j]
            else:
                d = d0 + j
            v = uint(pval[j])
            a = uint(pa[d])
            if ((a & absm) >= impl and (v & absm) >= impl and (a & absm) < expm
                    and (v & absm) < expm):
                # both normal, a negative one (boosted ensembles, regressors): _vadd's
                # arithmetic inline (a call costs more than the addition)
                if (a & absm) < (v & absm):
                    hi = v
                    lo = a
                else:
                    hi = a
                    lo = v
                eh = int((hi & absm) >> 23)
                e = eh - int((lo & absm) >> 23)
                mh = ((hi & mant) | impl) << 3
                ml = ((lo & mant) | impl) << 3
                if e > 26:
                    ml = uint(1)
                elif e:
                    st = ml & ((uint(1) << uint(e)) - 1)
                    ml >>= uint(e)
                    if st:
                        ml |= 1
                if (a ^ v) & sign:
                    m = mh - ml
                    while m < (impl << 3) and eh > 1:
                        m <<= 1
                        eh -= 1
                else:
                    m = mh + ml
                    if m >= (impl << 4):
                        m = (m >> 1) | (m & 1)
                        eh += 1
                if m == zero:
                    s = zero
                else:
                    g = m & 7
                    m >>= 3
                    if g > uint(4) or (g == uint(4) and (m & 1)):
                        m += 1
                    if m >= impl2:
                        m >>= 1
                        eh += 1
                    if eh >= 255:
                        s = (hi & sign) | expm
                    elif m < impl:
                        s = (hi & sign) | m
                    else:
                        s = (hi & sign) | (uint(eh) << 23) | (m & mant)
                pa[d] = s
            else:
                _vadd(acc, d, buf, int(P[9]) + 4 * j)
            j += 1
        t += 1


@micropython.viper
def _vmedian(buf, out):
    # a weighted-median ensemble (AdaBoostRegressor): out[0] = the smallest of the trees'
    # values v[t] (0.0 + the leaf's value, float32) whose weight of values <= it reaches
    # half the total weight: ml_trees_weighted_median's answer, comparisons as
    # order-preserving keys, the weight sums float32 additions in integers (non-negative
    # operands) over the trees in the C's order. A sum of non-negative weights never
    # decreases, so a sum stops as soon as it reaches half (the same answer as the full
    # sum), and the smallest value whose sum reaches half is found by binary search.
    P = ptr32(buf)
    po = ptr32(out)
    b = uint(ptr8(buf))
    nt = int(P[2])
    lids = ptr32(b + uint(P[8]))
    pval = ptr32(b + uint(P[9]))
    pstart = ptr16(b + uint(P[10]))
    sparse = P[14]
    pw = ptr32(b + uint(P[42]))
    half = uint(P[43])
    pv = ptr32(b + uint(P[44]))
    pk = ptr32(b + uint(P[45]))
    ps = ptr32(b + uint(P[46]))
    ff = uint(0xFFFF)
    m32 = (ff << 16) | ff
    sign = uint(1) << 31
    absm = m32 >> 1
    expm = uint(0xFF) << 23
    mant = (uint(1) << 23) - 1
    impl = uint(1) << 23
    qbit = uint(1) << 22
    zero = uint(0)
    # each tree's value and its key (0: NaN; the keys of numbers are >= key(-inf) > 0)
    t = 0
    while t < nt:
        leaf = int(lids[t])
        if sparse:
            po[0] = 0
            j = int(pstart[leaf])
            j1 = int(pstart[leaf + 1])
            while j < j1:
                _vadd(out, 0, buf, int(P[9]) + 4 * j)
                j += 1
            u = uint(po[0])
        else:
            u = uint(pval[leaf])
        if u == sign:
            u = zero  # 0.0 + -0.0
        if (u & absm) > expm:
            u |= qbit  # 0.0 + NaN: a quiet NaN
            k = zero
        elif u > sign:
            k = u ^ m32
        else:
            k = u | sign
        pv[t] = u
        pk[t] = k
        t += 1
    # ml_trees_weighted_median keeps the smallest v[i] whose sum reaches half, v[0] if
    # none does; a sum grows with v[i] (a superset of non-negative weights, added in the
    # same order), so that value is found by a binary search over the sorted keys (NaN:
    # a sum of 0, only enough when half is 0, and then v[0] is kept if it is NaN)
    if half == zero and uint(pk[0]) == zero:
        po[0] = pv[0]
        return
    n = 0  # the keys of numbers, sorted (insertion)
    t = 0
    while t < nt:
        k = uint(pk[t])
        if k != zero:
            j = n
            while j > 0 and uint(ps[j - 1]) > k:
                ps[j] = ps[j - 1]
                j -= 1
            ps[j] = k
            n += 1
        t += 1
    lo_i = 0
    hi_i = n
    while lo_i < hi_i:
        mid = (lo_i + hi_i) >> 1
        ki = uint(ps[mid])
        below = zero
        reached = 0
        if below >= half:
            reached = 1
        j = 0
        while j < nt and not reached:
            kj = uint(pk[j])
            w = uint(pw[j]) & absm  # -0.0 adds as +0.0
            if kj != zero and kj <= ki and w != zero and below < expm:
                if below == zero:
                    below = w
                else:
                    # below + w, both positive and finite: round to nearest even
                    if below < w:
                        hi = w
                        lo = below
                    else:
                        hi = below
                        lo = w
                    eh = int(hi >> 23)
                    el = int(lo >> 23)
                    mh = hi & mant
                    ml = lo & mant
                    if eh:
                        mh |= impl
                    else:
                        eh = 1
                    if el:
                        ml |= impl
                    else:
                        el = 1
                    mh <<= 3
                    ml <<= 3
                    e = eh - el
                    if e > 26:
                        ml = uint(1)
                    elif e:
                        st = ml & ((uint(1) << uint(e)) - 1)
                        ml >>= uint(e)
                        if st:
                            ml |= 1
                    m = mh + ml
                    if m >= (impl << 4):
                        m = (m >> 1) | (m & 1)
                        eh += 1
                    g = m & 7
                    m >>= 3
                    if g > uint(4) or (g == uint(4) and (m & 1)):
                        m += 1
                    if m >= (impl << 1):
                        m >>= 1
                        eh += 1
                    if eh >= 255:
                        below = expm
                    elif m < impl:
                        below = m
                    else:
                        below = (uint(eh) << 23) | (m & mant)
                if below >= half:
                    reached = 1
            j += 1
        if reached:
            hi_i = mid
        else:
            lo_i = mid + 1
    if lo_i == n:
        po[0] = pv[0]  # no value reaches half
    else:
        k = uint(ps[lo_i])  # the value of this key (a value is never -0.0 here)
        if k >= sign:
            po[0] = k ^ sign
        else:
            po[0] = k ^ m32


@micropython.viper
def _vsum(buf, acc, op: int) -> int:
    P = ptr32(buf)
    pa = ptr32(acc)
    b = uint(ptr8(buf))
    no = P[1]
    nt = P[2]
    base = P[3]
    lids = ptr32(b + uint(P[8]))
    pval = ptr32(b + uint(P[9]))
    pstart = ptr16(b + uint(P[10]))
    pidx = ptr16(b + uint(P[11]))
    sparse = P[14]
    ff = uint(0xFFFF)
    m32 = (ff << 16) | ff
    sign = uint(1) << 31
    absm = m32 >> 1
    expm = uint(0xFF) << 23
    mant = (uint(1) << 23) - 1
    impl = uint(1) << 23
    impl2 = impl << 1
    one = uint(0x7F) << 23  # 1.0f
    zero = uint(0)
    i = 0
    while i < no:
        pa[i] = 0
        i += 1
    t = 0
    while t < nt:
        leaf = lids[t]
        # acc += the leaf's row: float32 additions in integers (round to nearest even)
        r0 = 0
        if leaf < base:
            j = leaf
            j1 = leaf + 1
            mode = 0
        elif sparse:
            r = leaf - base
            j = pstart[r]
            j1 = pstart[r + 1]
            mode = 1
        else:
            r0 = (leaf - base) * no
            j = r0
            j1 = r0 + no
            mode = 2
        while j < j1:
            if mode == 0:
                d = j
                v = one
            elif mode == 1:
                d = pidx[j]
                v = uint(pval[j])
            else:
                d = j - r0
                v = uint(pval[j])
            a = uint(pa[d])
            if a == zero:
                s = v  # +0.0 + v (v == -0.0 gives +0.0, a NaN is made quiet)
                if v == sign:
                    s = zero
                elif (v & absm) > expm:
                    s = v | (uint(1) << 22)
            elif (a | v) < sign and a < expm and v < expm and a >= impl and v >= impl:
                # both positive and normal: the common case
                if a < v:
                    hi = v
                    lo = a
                else:
                    hi = a
                    lo = v
                ue = hi >> 23
                e = int(ue - (lo >> 23))
                if e > 24:
                    s = hi
                else:
                    mh = (hi & mant) | impl
                    ml = (lo & mant) | impl
                    m = mh + (ml >> uint(e))
                    half = uint(1) << uint(e)
                    rem = ml & (half - 1)
                    if m >= impl2:
                        rem = rem | ((m & 1) << uint(e))
                        m >>= 1
                        ue += 1
                    else:
                        half >>= 1
                    if rem > half or (rem == half and rem != zero and (m & 1)):
                        m += 1
                        if m >= impl2:
                            m >>= 1
                            ue += 1
                    if ue >= uint(255):
                        s = expm
                    else:
                        s = (ue << 23) | (m & mant)
            else:
                # a negative, subnormal, infinite or NaN operand (rare for classifiers)
                if mode == 0:
                    _vadd(acc, d, buf, -1)
                else:
                    _vadd(acc, d, buf, int(P[9]) + 4 * j)
                j += 1
                continue
            pa[d] = s
            j += 1
        t += 1
    if op == 0:
        # the first maximum (float comparison: a NaN is never greater, -0.0 == +0.0)
        best = 0
        kb = zero
        i = 0
        while i < no:
            u = uint(pa[i])
            a = u & absm
            if a > expm:
                k = m32  # NaN
            elif u > sign:
                k = u ^ m32
            else:
                k = a | sign
            if i == 0:
                kb = k
            elif k > kb and kb != m32 and k != m32:
                best = i
                kb = k
            i += 1
        return best
    if nt > 1:
        _vmean(buf, acc)
    return 0


@micropython.viper
def _vmean(buf, acc):
    # acc[i] *= 1/n_trees (float32 multiplication in integers: round to nearest even,
    # subnormals)
    P = ptr32(buf)
    pa = ptr32(acc)
    no = P[1]
    ff = uint(0xFFFF)
    m32 = (ff << 16) | ff
    sign = uint(1) << 31
    absm = m32 >> 1
    expm = uint(0xFF) << 23
    mant = (uint(1) << 23) - 1
    impl = uint(1) << 23
    qbit = uint(1) << 22
    zero = uint(0)
    inv = uint(P[13])
    bm = (inv & mant) | impl
    eb = int(inv >> 23)
    bh = bm >> 12
    bl = bm & 0xFFF
    hf = uint(1) << 23
    i = 0
    while i < no:
        a = uint(pa[i])
        sg = a & sign
        aa = a & absm
        if aa == zero:
            s = a
        elif aa > expm:
            s = a | qbit
        elif aa == expm:
            s = a
        else:
            ea = int(aa >> 23)
            ma = aa & mant
            if ea:
                ma |= impl
            else:
                ea = 1
                while ma < impl:
                    ma <<= 1
                    ea -= 1
            ah = ma >> 12
            al = ma & 0xFFF
            lo = al * bl
            mid = ah * bl + al * bh
            hi = ah * bh
            lo2 = lo + ((mid & 0xFFF) << 12)
            hi2 = hi + (mid >> 12) + (lo2 >> 24)
            lo2 &= 0xFFFFFF
            e = ea + eb - 127
            if hi2 >= impl:
                m = hi2
                rem = lo2
                e += 1
            else:
                m = (hi2 << 1) | (lo2 >> 23)
                rem = (lo2 << 1) & 0xFFFFFF
            if e >= 1:
                if rem > hf or (rem == hf and (m & 1)):
                    m += 1
                if m >= (impl << 1):
                    m >>= 1
                    e += 1
                if e >= 255:
                    s = sg | expm
                else:
                    s = sg | (uint(e) << 23) | (m & mant)
            elif 1 - e > 25:
                s = sg
            else:
                sh = uint(1 - e)
                hb = uint(1) << (sh - 1)
                lost = m & ((hb << 1) - 1)
                m >>= sh
                if lost > hb or (lost == hb and (rem != zero or (m & 1))):
                    m += 1
                s = sg | m
        pa[i] = s
        i += 1



@micropython.viper
def _vadd(acc, d: int, buf, at: int):
    # acc[d] += the float32 at byte `at` of buf (at < 0: 1.0), in integers: round to
    # nearest even, subnormals, infinities, NaN
    pa = ptr32(acc)
    a = uint(pa[d])
    if at < 0:
        v = uint(0x7F) << 23
    else:
        v = uint(ptr32(uint(ptr8(buf)) + uint(at))[0])
    ff = uint(0xFFFF)
    m32 = (ff << 16) | ff
    sign = uint(1) << 31
    absm = m32 >> 1
    expm = uint(0xFF) << 23
    mant = (uint(1) << 23) - 1
    impl = uint(1) << 23
    qbit = uint(1) << 22
    zero = uint(0)
    four = uint(4)
    aa = a & absm
    va = v & absm
    if aa == zero:
        if va == zero:
            s = a & v
        elif va > expm:
            s = v | qbit  # 0.0 + NaN: quiet
        else:
            s = v
    elif va == zero:
        s = a
        if aa > expm:
            s = a | qbit
    elif aa >= expm or va >= expm:
        if aa > expm:
            s = a | qbit
        elif va > expm:
            s = v | qbit
        elif aa == expm and va == expm and (a ^ v) & sign:
            s = expm | qbit | sign  # inf - inf: the default NaN
        elif aa == expm:
            s = a
        else:
            s = v
    else:
        if aa < va:
            hi = v
            lo = a
        else:
            hi = a
            lo = v
        eh = int((hi & absm) >> 23)
        el = int((lo & absm) >> 23)
        mh = hi & mant
        ml = lo & mant
        if eh:
            mh |= impl
        else:
            eh = 1
        if el:
            ml |= impl
        else:
            el = 1
        mh <<= 3
        ml <<= 3
        e = eh - el
        if e > 26:
            ml = uint(1)
        elif e:
            st = ml & ((uint(1) << uint(e)) - 1)
            ml >>= uint(e)
            if st:
                ml |= 1
        sg = hi & sign
        if (a ^ v) & sign:
            m = mh - ml
            while m < (impl << 3) and eh > 1:
                m <<= 1
                eh -= 1
        else:
            m = mh + ml
            if m >= (impl << 4):
                m = (m >> 1) | (m & 1)
                eh += 1
        if m == zero:
            s = uint(0)
        else:
            g = m & 7
            m >>= 3
            if g > four or (g == four and (m & 1)):
                m += 1
            if m >= (impl << 1):
                m >>= 1
                eh += 1
            if eh >= 255:
                s = sg | expm
            elif m < impl:
                s = sg | m
            else:
                s = sg | (uint(eh) << 23) | (m & mant)
    pa[d] = s



@micropython.viper
def _vbyte(a: uint) -> int:
    return int(ptr8(a)[0])


def _probe():
    # the bytes of an object word if this port lays arrays out as _vrun reads them
    # (mp_obj_array_t: type, typecode in the low byte of the next word, len, items) and
    # id() gives their addresses as non-negative ints; else 0 (then the arrays are checked
    # in Python and passed as buffers)
    f = array.array("f", [0.0])
    i = array.array("i", [0, 0])
    if id(f) < 0 or id(i) < 0:
        return 0
    for w in (4, 8):
        if _vbyte(id(f) + w) == 102 and _vbyte(id(i) + w) == 105:
            return w
    return 0


_W = _probe()
_TC_F = array.array("f")
_T = array.array("f", [0.0])


def _r(v):
    # v rounded to float32 (each step of the post transforms is one float32 operation, as
    # in the C engine: on a double-precision port the double result of one operation on
    # float32 values rounds to the float32 result)
    _T[0] = v
    return _T[0]


def _fbits(u):
    return struct.unpack("<f", struct.pack("<I", u))[0]


# ml_math.h's constants (by their bits: a port's float parser may round differently)
_LOG2E, _LN2H, _LN2L = _fbits(0x3FB8AA3B), _fbits(0x3F317200), _fbits(0x35BFBE8E)
_C1, _C2, _C3 = _fbits(0x3EFFFFFE), _fbits(0x3E2AAA48), _fbits(0x3D2AAC5F)
_C4, _C5, _S64 = _fbits(0x3C091DBE), _fbits(0x3AB52170), _fbits(0x1F800000)
_EXPHI, _INF, _P127 = _fbits(0x42B17217), _fbits(0x7F800000), _fbits(0x7F000000)
_FMAX = _fbits(0x7F7FFFFF)


def _expf(x):
    # e^x for a float32 x: ml_expf's steps, each rounded to float32 (the same bits)
    if not -_EXPHI <= x <= _EXPHI:
        if x != x:
            return x + x
        if x > 0:
            return _INF
        if x <= -104.0:
            return 0.0
    k = int(_r(_r(x * _LOG2E) + (-0.5 if x < 0 else 0.5)))
    kf = float(k)
    rh = _r(x - _r(kf * _LN2H))
    rl = _r(kf * _LN2L)
    r = _r(rh - rl)
    q = _r(_r(r * r) * _r(_C1 + _r(r * _r(_C2 + _r(r * _r(_C3 + _r(r * _r(_C4 + _r(r * _C5)))))))))
    p = _r(1.0 + _r(rh + _r(q - rl)))
    if -126 <= k <= 127:
        return _r(p * _fbits((k + 127) << 23))
    if k > 127:
        return _r(_r(p * 2.0) * _P127)
    return _r(_r(p * _S64) * _fbits((k + 191) << 23))


def _sigmoid(d):
    if d >= 0:
        return _r(1.0 / _r(1.0 + _expf(-d)))
    t = _expf(d)
    return _r(t / _r(1.0 + t))


def _fail(r, op):
    if r == -1:
        raise ValueError("x must be array('f') of n_features values")
    if r == -2:
        raise ValueError("out must be array('f') of at least the output width")
    raise TypeError(("predict() is for classifiers and outlier detectors; use regress(x, out)",
                     "predict_proba() is for classifiers", "regress() is for regressors",
                     "this model has no such method", "this model has no such method")[op])


# a boosted section's block (docs/blob_format.md): post, kind, n_raw, flags, post_scale,
# decision threshold, missing, score offset, offsets of base scores, tree output column,
# categorical offsets, category words, category sets, median weights, 2 reserved
_EXT = "<4I4f8I"


def _bcheck(data, h, lo, size):
    # the C loader's checks of a boosted (layout-2) section's block; the leaf row width
    nn, nt, no, kind = h[4], h[3], h[2], h[0]

    def span(off, n, w):
        return off >= lo and off % w == 0 and off + n * w <= size

    if not span(h[26], 16, 4):
        _bad()
    (post, task, nraw, fl, _, _, _, _, o_base, o_tout, o_cat, ncw, o_bits, o_w, r0,
     r1) = struct.unpack_from(_EXT, data, h[26])
    med, iso = post == 8, post == 7
    if (task != kind or post == 0 or post > 8 or fl & ~0x3F or (fl >> 4) & 3 > 2 or r0
            or r1 or nraw == 0 or nraw > no or (kind and nraw != no)
            or (kind == 0 and nraw != no and not (nraw == 1 and no == 2))
            or (kind == 0 and (post == 6 or iso or med))
            or (kind == 1 and post not in (1, 6, 2) and not med)
            or (kind == 2) != iso or (med and (nraw != 1 or o_w == 0)) or (o_w and not med)
            or (o_tout and nraw < 2) or not span(o_base, nraw, 4)
            or (o_tout and not span(o_tout, nt, 2)) or (med and not span(o_w, nt, 4))
            or (o_cat and (nn == 0 or ncw < 2 or not span(o_cat, nn, 4)
                           or not span(o_bits, ncw, 4)))):
        _bad()
    if o_tout:
        for t in struct.unpack_from("<" + str(nt) + "H", data, o_tout):
            if t >= nraw:
                _bad()
    if med:
        for w in struct.unpack_from("<" + str(nt) + "f", data, o_w):
            if not 0.0 <= w <= _FMAX:
                _bad()
    sets = 2 if fl & 2 else 1
    if o_cat:
        for off in struct.unpack_from("<" + str(nn) + "I", data, o_cat):
            if off:
                if off >= ncw:
                    _bad()
                w = struct.unpack_from("<I", data, o_bits + 4 * off)[0]
                if w == 0 or w > (ncw - off - 1) // sets:
                    _bad()
    return 1 if o_tout else nraw


def _key(u):
    # order-preserving unsigned key of float32 bits u (not NaN; +-0.0 one key)
    return u ^ 0xFFFFFFFF if u > 0x80000000 else u | 0x80000000


class Model(_PyModel):
    """A tree ensemble run by the viper engine (same API as the C module's Model)."""

    def __init__(self, data):
        try:
            # every check of the fallback (= the C loader's), boosted blocks by _bcheck
            _load(self, data, 0, _bcheck)
        except ValueError as e:
            # what the C module runs and this engine does not (pipelines, other
            # families): say so
            raise ValueError(e.args[0].replace("the native module", "the C module")
                             .replace("the fallback", "the viper engine")) from None
        self._x_ok = self._out_ok = None
        self._scratch = array.array("f", bytes(4 * self._no))
        version, count, total = struct.unpack_from("<HHI", data, 4)
        if version == 1:
            sec = memoryview(data)[0:total]
            hdr = 16
        else:
            off, size = struct.unpack_from("<II", data, 20)
            sec = memoryview(data)[off:off + size]
            hdr = 0
        h = struct.unpack_from("<7I4B7If8I", sec, hdr)
        kind, nf, no, nt, nn, nr, base = h[0:7]
        nnz = h[19]
        post = nraw = fl = 0
        e = None
        if h[25] == 2:
            e = struct.unpack_from(_EXT, sec, h[26])
            post, nraw, fl = e[0], e[2], e[3]
        rw = (1 if e[9] else nraw) if e else no
        nv = nnz if nnz else nr * rw
        ncat = nn if e and e[10] else 0
        at = 4 * _N_PRM
        lay = []
        for n in (16 * nn, 4 * nt, 4 * nt, 4 * nv, 2 * (nr + 1) if nnz else 0,
                  2 * nnz, (nn + 7) // 8 if h[9] else 0, 4 * nraw, 2 * nt if e and e[9] else 0,
                  4 * ncat, 4 * e[11] if ncat else 0, 4 * nt if post == 8 else 0,
                  4 * nt if post == 8 else 0, 4 * nt if post == 8 else 0,
                  4 * nt if post == 8 else 0):
            lay.append(at)
            at += (n + 3) & ~3
        buf = bytearray(at)
        p = array.array("I", bytes(4 * _N_PRM))
        p[_P_NF], p[_P_NO], p[_P_NT], p[_P_BASE], p[_P_LIM] = nf, no, nt, base, 16 * nn
        p[_P_REC], p[_P_ROOTS], p[_P_LIDS], p[_P_VAL] = lay[0:4]
        p[_P_START], p[_P_INDEX] = lay[4], lay[5]
        p[_P_NAN] = lay[6] if h[9] else 0
        p[_P_INV] = struct.unpack_from("<I", sec, hdr + 60)[0]
        p[_P_SPARSE] = 1 if nnz else 0
        p[_P_FB], p[_P_CB], p[_P_TK], p[_P_NIDS] = h[7], h[8], h[22], base + nr
        p[_P_FFEAT], p[_P_FTHR], p[_P_FLEFT], p[_P_FRIGHT] = h[11], h[12], h[13], h[14]
        p[_P_FROOTS], p[_P_FTV], p[_P_NN], p[_P_W] = h[15], h[24], nn, _W
        p[_P_NRAW], p[_P_RW] = (nraw, rw) if e else (no, no)
        copies = [(h[17], 4 * nv, lay[3]), (h[20], 2 * (nr + 1) if nnz else 0, lay[4]),
                  (h[21], 2 * nnz, lay[5]), (h[16], (nn + 7) // 8 if h[9] else 0, lay[6])]
        if e:
            p[_P_POST], p[_P_FLAGS], p[_P_KIND] = post, fl, kind
            mb = struct.unpack_from("<I", sec, h[26] + 24)[0]  # the missing value's bits
            p[_P_MKEY] = _key(mb) if fl & 1 and (mb & 0x7FFFFFFF) <= 0x7F800000 else 0
            p[_P_DTHR] = struct.unpack_from("<I", sec, h[26] + 20)[0]
            p[_P_BASEV] = lay[7]
            copies.append((e[8], 4 * nraw, lay[7]))
            if e[9]:
                p[_P_TOUT] = lay[8]
                copies.append((e[9], 2 * nt, lay[8]))
            if ncat:
                p[_P_CAT], p[_P_CATB] = lay[9], lay[10]
                copies += [(e[10], 4 * nn, lay[9]), (e[12], 4 * e[11], lay[10])]
            if post == 8:  # the tree weights, half their float32 total (as the C engine)
                p[_P_MW], p[_P_MV], p[_P_MK], p[_P_MS] = lay[11], lay[12], lay[13], lay[14]
                copies.append((e[13], 4 * nt, lay[11]))
                total = 0.0
                for w in struct.unpack_from("<" + str(nt) + "f", sec, e[13]):
                    total = _r(total + w)
                p[_P_MHALF] = struct.unpack("<I", struct.pack("<f", _r(0.5 * total)))[0]
            # methods (bit op): predict, predict_proba, regress, decision_function,
            # score_samples; decision_function's width
            p[_P_OPS] = (0b01011, 0b00100, 0b11001)[kind]
            p[_P_NDEC] = nraw if kind == 0 else 1
            self._ps, self._dthr, self._so = e[4], e[5], e[7]
        else:
            p[_P_OPS] = 0b011 if base else 0b100
        buf[0:4 * _N_PRM] = bytes(p)
        for o, n, dst in copies:
            if n:
                buf[dst:dst + n] = sec[o:o + n]
        # the file's node tables are read once, from a copy (a buffer viper can read)
        _vbuild(buf, bytearray(sec), id(_TC_F))
        self._buf = buf
        self._post, self._kind, self._nraw, self._fl = post, kind, nraw, fl
        self._ops = p[_P_OPS]
        self._width = (no, no, no, p[_P_NDEC], 1)
        # the fallback's tables are not used: free them
        self.roots = self.leaves = self.start = self.index = None
        self.feature = self.threshold = self.left = self.right = self.nan_left = None

    def n_steps(self):
        return 1

    def is_classifier(self):
        return self._ops & 2 != 0

    def task(self):
        if self._post:
            return self._kind
        return 0 if self._base else 1

    def transform(self, x, out):
        raise TypeError("this model has no such method")

    # the post transforms of boosted ensembles (float arithmetic: these allocate float
    # objects on ports that box floats); out holds the raw scores

    def _proba(self, out):
        k, post, a = self._nraw, self._post, self._ps
        if k == 1:
            if post == 1:
                r = out[0]
                p = 1.0 if (r >= self._dthr if self._fl & 8 else r > self._dthr) else 0.0
            else:
                p = _sigmoid(_r(a * out[0]))
            out[0] = 1.0 - p
            out[1] = p
            return
        if post == 1:
            return
        s = 0.0
        if post == 3:
            mx = _r(a * out[0])
            for j in range(1, k):
                v = _r(a * out[j])
                if v > mx:
                    mx = v
            for j in range(k):
                out[j] = _expf(_r(_r(a * out[j]) - mx))
                s = _r(s + out[j])
        else:
            for j in range(k):
                out[j] = _sigmoid(_r(a * out[j]))
                s = _r(s + out[j])
            if post == 5:
                return
        for j in range(k):
            out[j] = out[j] / s

    def _regress(self, out):
        post = self._post
        if post == 6:
            for j in range(self._nraw):
                out[j] = _expf(out[j])
        elif post == 2:
            for j in range(self._nraw):
                out[j] = _sigmoid(_r(self._ps * out[j]))

    def _score(self, out):
        out[0] = -_expf(_r(out[0] * self._ps))

    def _decision(self, out):
        if self._kind == 2:
            out[0] = -_expf(_r(out[0] * self._ps)) - self._so

    if _W:  # the arrays are checked in _vrun (no Python code, no allocation per call)

        def predict(self, x):
            r = _vrun(self._buf, id(x), 0, 0, x, self._scratch)
            if r < 0:
                _fail(r, 0)
            if self._kind == 2:
                return r + r - 1  # an outlier detector: -1 / +1
            return r

        def predict_proba(self, x, out):
            r = _vrun(self._buf, id(x), id(out), 1, x, out)
            if r < 0:
                _fail(r, 1)
            if self._post:
                self._proba(out)

        def regress(self, x, out):
            r = _vrun(self._buf, id(x), id(out), 2, x, out)
            if r < 0:
                _fail(r, 2)
            if 1 < self._post < 8:  # (8: the weighted median is the output)
                self._regress(out)

        def decision_function(self, x, out):
            r = _vrun(self._buf, id(x), id(out), 3, x, out)
            if r < 0:
                _fail(r, 3)
            self._decision(out)

        def score_samples(self, x, out):
            r = _vrun(self._buf, id(x), id(out), 4, x, out)
            if r < 0:
                _fail(r, 4)
            self._score(out)

    else:

        def _call(self, x, out, op):
            if not (self._ops >> op) & 1:
                _fail(-3, op)
            # as the fallback: the typecode is read once per array object (it never changes)
            if type(x) is not array.array or len(x) != self._nf:
                _fail(-1, op)
            if x is not self._x_ok:
                if _typecode(x) != "f":
                    _fail(-1, op)
                self._x_ok = x
            if op:
                if type(out) is not array.array or len(out) < self._width[op]:
                    _fail(-2, op)
                if out is not self._out_ok:
                    if _typecode(out) != "f":
                        _fail(-2, op)
                    self._out_ok = out
            return _vrun(self._buf, 0, 0, op | 8, x, out)

        def predict(self, x):
            r = self._call(x, self._scratch, 0)
            if self._kind == 2:
                return r + r - 1
            return r

        def predict_proba(self, x, out):
            self._call(x, out, 1)
            if self._post:
                self._proba(out)

        def regress(self, x, out):
            self._call(x, out, 2)
            if 1 < self._post < 8:  # (8: the weighted median is the output)
                self._regress(out)

        def decision_function(self, x, out):
            self._call(x, out, 3)
            self._decision(out)

        def score_samples(self, x, out):
            self._call(x, out, 4)
            self._score(out)
