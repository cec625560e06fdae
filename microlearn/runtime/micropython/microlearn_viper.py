# microlearn_mp viper engine: tree ensembles and int8 fully-connected nets in MicroPython
# machine code, no C toolchain.
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
# int8 fully-connected nets: see "int8 fully-connected nets" below (_NetModel). Other
# families, float32 nets, int8 nets with other ops and pipelines need the C module.
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


def _fail(r, op, x=None):
    if r == -1:
        if type(x) is array.array and _typecode(x) in "bh":  # as the C module
            raise TypeError("array('b')/array('h') input is for int8 nets with an integer "
                            "entry; this model takes array('f')")
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
                _fail(r, 0, x)
            if self._kind == 2:
                return r + r - 1  # an outlier detector: -1 / +1
            return r

        def predict_proba(self, x, out):
            r = _vrun(self._buf, id(x), id(out), 1, x, out)
            if r < 0:
                _fail(r, 1, x)
            if self._post:
                self._proba(out)

        def regress(self, x, out):
            r = _vrun(self._buf, id(x), id(out), 2, x, out)
            if r < 0:
                _fail(r, 2, x)
            if 1 < self._post < 8:  # (8: the weighted median is the output)
                self._regress(out)

        def decision_function(self, x, out):
            r = _vrun(self._buf, id(x), id(out), 3, x, out)
            if r < 0:
                _fail(r, 3, x)
            self._decision(out)

        def score_samples(self, x, out):
            r = _vrun(self._buf, id(x), id(out), 4, x, out)
            if r < 0:
                _fail(r, 4, x)
            self._score(out)

    else:

        def _call(self, x, out, op):
            if not (self._ops >> op) & 1:
                _fail(-3, op)
            # as the fallback: the typecode is read once per array object (it never changes)
            if type(x) is not array.array or len(x) != self._nf:
                _fail(-1, op, x)
            if x is not self._x_ok:
                if _typecode(x) != "f":
                    _fail(-1, op, x)
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


# nets-engine: begin (left out of a trees-only build: build_viper(..., nets=False))
# ---- int8 fully-connected nets --------------------------------------------------------------
# A nets section (family 8) of layout 2, dtype 1 (docs/blob_format.md, ml_nets_int8.h) whose
# ops are QUANTIZE, DENSE, REQUANTIZE, CLAMP, LOGISTIC, TANH, SOFTMAX and DEQUANTIZE: an
# int8 MLP (sklearn MLPClassifier / MLPRegressor, Keras Dense nets) converted with
# quantize="int8". _NetModel checks the section as ml_nets_from_section and
# ml_nets_q7_check_section do (the same ValueError for the same files), then copies the op
# records into a private buffer with the tables the kernels read: DENSE weights biased by
# 128 (unsigned bytes) and the constant c[o] = bias[o] - (128 + in_zp) * sum(w[o]), so that
# sum((x - in_zp) * w) + bias = sum((x + 128) * (w + 128)) - 128 * sum(x + 128) + c[o]: the
# inner loop multiplies two unsigned bytes. The arena holds every int8 activation q as the
# byte q + 128. Each op is one viper function of integer code, bit for bit the C kernels:
# QUANTIZE (_nquant: x / scale correctly rounded in integers, NaN -> zero point, round half
# away from zero, saturated), DENSE (_ndense: TFLite's requantization, the 32 x 32 -> 64
# high multiply in 16-bit halves, the one-rounding form and the general one as
# ml_nets_q7__rqout), SOFTMAX / LOGISTIC / TANH (gemmlowp's fixed-point exp and
# Newton-Raphson reciprocal: _nexp, _nrcp), DEQUANTIZE (_ndeq: scale * (q - zp) as a float32
# product in integers). The outputs are the C module's float32 bits (1 - p of a binary
# classifier: _vadd); nothing is allocated per call.
_NF, _NNO, _NFIN, _NTASK, _NBIN, _NOPS, _NRECS, _NARENA, _NY = 0, 1, 2, 3, 4, 5, 6, 7, 8
_NATYPE, _NW, _NINT, _NEXPS, _NR = 9, 11, 12, 13, 14  # _NR .. _NR + 3: argument words
_NMULTS, _NEXPC, _NNEWT, _NNEGY = 18, 25, 26, 27  # exp_neg's 7 multipliers, constants
_N_NQ = 28
_NKINDS = {1: "QUANTIZE", 2: "DEQUANTIZE", 3: "REQUANTIZE", 4: "DENSE", 5: "CONV2D",
           6: "DEPTHWISE", 7: "MAX_POOL", 8: "AVG_POOL", 9: "MEAN", 10: "PAD", 11: "ADD",
           12: "MUL", 13: "COPY", 14: "SOFTMAX", 15: "LOGISTIC", 16: "TANH",
           17: "CLAMP", 18: "LEAKY_RELU", 19: "GLOBAL_MAX", 20: "HARD_SWISH"}
_NRUNS = (1, 2, 3, 4, 14, 15, 16, 17)  # the kinds this engine runs


@micropython.viper
def _nrun(buf, xid: uint, aid: uint, op: int, x, out) -> int:
    # op 0 predict (the class), 1 predict_proba, 2 regress; x, out: the arrays' objects by
    # address (as _vrun); op | 8: x and out checked by the caller, (op >> 4) & 3 the input
    # (0 array('f'), 1 array('b'), 2 array('h')). Returns >= 0, or -1 bad x, -2 bad out,
    # -3 not this model's method, -4 an integer x for a net without the integer entry,
    # -5 an integer x of the wrong length.
    P = ptr32(buf)
    b = uint(ptr8(buf))
    nf = P[0]
    w = P[11]
    uw = uint(w)
    task = P[3]
    if (op & 7) == 2:
        if task != 1:
            return -3
    elif task != 0:
        return -3
    mode = 0
    if op & 8:
        mode = (op >> 4) & 3
        op = op & 7
    else:
        if xid & (uw - 1) or uint(ptr32(xid)[0]) != uint(P[9]):
            return -1
        if w == 8 and uint(ptr32(xid)[1]) != uint(P[10]):
            return -1
        tc = ptr8(xid + uw)[0]
        n = ptr32(xid + 2 * uw)[0]
        if tc == 98 or tc == 104:
            if not P[12]:
                return -4
            if n != nf:
                return -5
            mode = 1 if tc == 98 else 2
        elif tc != 102 or n != nf:
            return -1
        if op:
            if aid & (uw - 1) or uint(ptr32(aid)[0]) != uint(P[9]):
                return -2
            if w == 8 and uint(ptr32(aid)[1]) != uint(P[10]):
                return -2
            if ptr8(aid + uw)[0] != 102 or ptr32(aid + 2 * uw)[0] < P[1]:
                return -2
    # the arena starts as q = 0 (stored q + 128) on every call, as the C module's memset:
    # a file whose op reads bytes no earlier op wrote gives the same answers
    k = P[7]
    e = P[8]
    fill = 0x8080
    fill = (fill << 16) | fill  # 0x80808080 in a machine word (no big-int constant)
    while k < e:
        ptr32(b + uint(k))[0] = fill
        k += 4
    k = 0
    r = P[6]
    nops = P[5]
    while k < nops:
        kind = ptr32(b + uint(r))[0]
        if kind == 4:
            _ndense(buf, r)
        elif kind == 1:
            _nquant(buf, r, x, mode)
        elif kind == 14:
            _nsoft(buf, r)
        elif kind == 2:
            _ndeq(buf, r)
        else:
            _nelt(buf, r)
        r += 160
        k += 1
    py = ptr32(b + uint(P[8]))
    nfin = P[2]
    sign = 1
    sign <<= 31
    b30 = ((sign - 1) >> 1) + 1  # 2^30 (a literal would be an object)
    ff = 0xFFFF
    m32 = (ff << 16) | ff
    if op == 0:
        # the class: y > 0.5 (one sigmoid unit), else the first maximum (keys of the bits;
        # the outputs are never NaN)
        best = 0
        kb = uint(0)
        i = 0
        while i < nfin:
            u = uint(py[i])
            if u > uint(sign):
                kk = u ^ uint(m32)
            else:
                kk = (u & uint(m32 >> 1)) | uint(sign)
            if i == 0:
                kb = kk
            elif kk > kb:
                best = i
                kb = kk
            i += 1
        if P[4]:
            half = uint(b30 - 0x1000000) | uint(sign)  # the key of 0.5f
            return 1 if kb > half else 0
        return best
    po = ptr32(out)
    if P[4]:  # [1 - p, p], the subtraction in float32
        po[1] = py[0]
        po[0] = b30 - 0x800000  # 1.0f
        P[27] = py[0] ^ sign
        _vadd(out, 0, buf, 4 * 27)
        return 0
    i = 0
    while i < nfin:
        po[i] = py[i]
        i += 1
    return 0


@micropython.viper
def _nquant(buf, r: int, x, mode: int):
    # QUANTIZE: q = sat8(round(x / scale) + zp), ml_nets_q7__quantize1's value: q is a
    # monotone step function of x, so it is the count of the 255 thresholds (the order-
    # preserving keys of the smallest floats reaching each level, found at load by _nthr
    # with _nq1's exact arithmetic) at or below x's key; NaN -> zp. mode 1: int8 values
    # copied; 2: int16 values, quantized as the floats they are
    P = ptr32(buf)
    b = uint(ptr8(buf))
    R = ptr32(b + uint(r))
    n = R[4]
    sg = 1
    sg <<= 31
    zp = (R[21] ^ sg) - sg
    pa = ptr8(b + uint(P[7]) + uint(R[3]))
    T = ptr32(b + uint(R[31]))
    i = 0
    if mode == 1:
        px = ptr8(x)
        while i < n:
            pa[i] = px[i] ^ 0x80
            i += 1
        return
    usg = uint(1) << 31
    ff = uint(0xFFFF)
    m32 = (ff << 16) | ff
    expm = uint(0xFF) << 23
    pf = ptr32(x)
    ph = ptr16(x)
    while i < n:
        if mode == 2:
            v = (ph[i] ^ 0x8000) - 0x8000
            u = uint(0)
            if v < 0:
                u = usg
                v = -v
            if v:
                e = 150
                while v < 0x8000:
                    v <<= 1
                    e -= 1
                u |= (uint(e - 8) << 23) | (uint(v << 8) & (uint(1 << 23) - 1))
        else:
            u = uint(pf[i])
        if (u & (m32 >> 1)) > expm:
            pa[i] = zp + 128  # NaN -> 0
        else:
            if u & usg:
                k = u ^ m32
            else:
                k = u | usg
            # the count of thresholds <= k: a binary search of 8 fixed steps (T[j] is
            # the threshold of level j + 1; T[255] is above every key)
            c = 0
            if uint(T[127]) <= k:
                c = 128
            if uint(T[c + 63]) <= k:
                c += 64
            if uint(T[c + 31]) <= k:
                c += 32
            if uint(T[c + 15]) <= k:
                c += 16
            if uint(T[c + 7]) <= k:
                c += 8
            if uint(T[c + 3]) <= k:
                c += 4
            if uint(T[c + 1]) <= k:
                c += 2
            if uint(T[c]) <= k:
                c += 1
            pa[i] = c
        i += 1


@micropython.viper
def _nthr(buf, r: int):
    # the 255 thresholds of a QUANTIZE op (see _nquant): T[j - 1] = the smallest key K
    # (over the keys of numbers, -inf .. +inf) whose float quantizes to >= j - 128 (the
    # levels never reached: above every key). T[j - 1] holds a guess on entry (the key of
    # (j - 128 - zp - 1/2) scale, from Python floats): a search doubling its steps away from
    # it brackets the threshold, then bisection; every probe is _nq1's exact arithmetic
    P = ptr32(buf)
    b = uint(ptr8(buf))
    T = ptr32(b + uint(ptr32(b + uint(r))[31]))
    usg = uint(1) << 31
    ff = uint(0xFFFF)
    m32 = (ff << 16) | ff
    kmin = (uint(0xFF) << 23) ^ m32 ^ usg  # the key of -inf
    kmax = (uint(0xFF) << 23) | usg  # the key of +inf
    lo0 = kmin
    P[14] = kmax ^ usg
    qmax = int(_nq1(buf, r))
    j = 1
    while j < 256:
        lev = j - 128
        if qmax < lev:
            T[j - 1] = m32
            j += 1
            continue
        c = uint(T[j - 1])
        if c < lo0:
            c = lo0
        if c > kmax:
            c = kmax
        # q(lo) < lev <= q(hi) after the bracketing (found: the answer directly)
        found = 0
        if c & usg:
            P[14] = c ^ usg
        else:
            P[14] = c ^ m32
        if int(_nq1(buf, r)) >= lev:
            hi = c
            lo = c
            step = uint(1)
            while found == 0:
                if hi - lo0 <= step:
                    lo = lo0
                    if lo & usg:
                        P[14] = lo ^ usg
                    else:
                        P[14] = lo ^ m32
                    if int(_nq1(buf, r)) >= lev:
                        found = 1
                        hi = lo
                    else:
                        found = 2
                else:
                    lo = hi - step
                    if lo & usg:
                        P[14] = lo ^ usg
                    else:
                        P[14] = lo ^ m32
                    if int(_nq1(buf, r)) < lev:
                        found = 2
                    else:
                        hi = lo
                        step <<= 1
        else:
            lo = c
            hi = c
            step = uint(1)
            while found == 0:
                if kmax - lo <= step:
                    hi = kmax
                    found = 2
                else:
                    hi = lo + step
                    if hi & usg:
                        P[14] = hi ^ usg
                    else:
                        P[14] = hi ^ m32
                    if int(_nq1(buf, r)) >= lev:
                        found = 2
                    else:
                        lo = hi
                        step <<= 1
        if found == 2:
            while hi - lo > uint(1):
                mid = lo + ((hi - lo) >> 1)
                if mid & usg:
                    P[14] = mid ^ usg
                else:
                    P[14] = mid ^ m32
                if int(_nq1(buf, r)) >= lev:
                    hi = mid
                else:
                    lo = mid
        T[j - 1] = hi
        lo0 = hi
        j += 1
    T[255] = m32  # (the unrolled search reads it: above every key)


@micropython.viper
def _nq1(buf, r: int) -> int:
    # ml_nets_q7__quantize1 of the float32 bits in word _NR: x / scale correctly rounded
    # (long division of the mantissas), NaN -> 0, |v| clamped, half away from zero, + zp,
    # saturated
    P = ptr32(buf)
    b = uint(ptr8(buf))
    R = ptr32(b + uint(r))
    sg = 1
    sg <<= 31
    zp = (R[21] ^ sg) - sg
    impl = 1 << 23
    mant = impl - 1
    sb = R[30]
    es = (sb >> 23) & 0xFF
    ms = sb & mant
    if es:
        ms |= impl
    else:
        es = 1
        while ms < impl:
            ms <<= 1
            es -= 1
    neg = 0
    v = 0  # the rounded quotient's magnitude (1000: saturated)
    u = P[14]
    ex = (u >> 23) & 0xFF
    mx = u & mant
    if (u >> 31) & 1:
        neg = 1
    if ex == 255:
        if mx:
            ex = -1000  # NaN: 0
        else:
            ex = 1000  # +-inf: saturated
    elif ex == 0 and mx == 0:
        ex = -1000
    elif ex:
        mx |= impl
    else:
        ex = 1
        while mx < impl:
            mx <<= 1
            ex -= 1
    d = ex - es  # |x / scale| = (mx / ms) 2^d, mx / ms in (1/2, 2)
    if d >= 10:
        v = 1000
    elif d > -3:
        q = 0
        rr = mx
        if rr >= ms:
            q = 1
            rr -= ms
        j = 0
        while j < 25:
            rr <<= 1
            q <<= 1
            if rr >= ms:
                q |= 1
                rr -= ms
            j += 1
        # q = floor(mx 2^25 / ms) in [2^24, 2^26): to 24 bits, round to nearest even
        k = 1
        if q >= (1 << 25):
            k = 2
        rem = q & ((1 << k) - 1)
        m = q >> k
        half = 1 << (k - 1)
        if rem > half or (rem == half and (rr or (m & 1))):
            m += 1
            if m == (1 << 24):
                m = 1 << 23
                k += 1
        sh = 25 - k - d  # float32(x / scale) = m 2^-sh, 13 <= sh <= 27
        v = m >> sh
        if (m >> (sh - 1)) & 1:
            v += 1  # half away from zero
    if neg:
        v = -v
    v += zp
    if v < -128:
        v = -128
    elif v > 127:
        v = 127
    return v


@micropython.viper
def _ndense(buf, r: int):
    # DENSE: rows of n_in inputs -> n_out outputs; acc + bias = sum(X W) - 128 sum(X) + c[o]
    # (X = q + 128, W = w + 128) into the scratch words, then _nrq requantizes them
    P = ptr32(buf)
    b = uint(ptr8(buf))
    R = ptr32(b + uint(r))
    n_in = R[4]
    n_out = R[5]
    rows = R[6]
    ar = b + uint(P[7])
    sg = 1
    sg <<= 31
    pw0 = b + uint(R[31])
    pc = ptr32(b + uint(R[33]))
    pa = ptr32(b + uint(P[13]))
    ff = 0xFFFF
    m32 = (ff << 16) | ff
    n4 = uint(n_in & ~3)
    row = 0
    while row < rows:
        px = ar + uint(R[1]) + uint(row * n_in)
        sx = 0
        p = px
        end = px + uint(n_in)
        while p < end:
            sx += ptr8(p)[0]
            p += 1
        sx <<= 7
        pw = pw0
        o = 0
        while o < n_out:
            acc = 0
            p = px
            q = pw
            end = px + n4
            while p < end:
                acc += (ptr8(p)[0] * ptr8(q)[0] + ptr8(p)[1] * ptr8(q)[1]
                        + ptr8(p)[2] * ptr8(q)[2] + ptr8(p)[3] * ptr8(q)[3])
                p += 4
                q += 4
            end = px + uint(n_in)
            while p < end:
                acc += ptr8(p)[0] * ptr8(q)[0]
                p += 1
                q += 1
            pw += uint(n_in)
            # the true int32 sum (the checker bounds it)
            pa[o] = ((acc - sx + ((pc[o] ^ sg) - sg) + sg) & m32) - sg
            o += 1
        _nrq(buf, r, row * n_out)
        row += 1


@micropython.viper
def _nrq(buf, r: int, at: int):
    # the int8 outputs at + o (o < n_out) of a DENSE op from the sums in the scratch words:
    # ml_nets_q7__rqout (per-channel multiplier and shift, zero point, clamp)
    P = ptr32(buf)
    b = uint(ptr8(buf))
    R = ptr32(b + uint(r))
    n_out = R[5]
    sg = 1
    sg <<= 31
    mx = sg - 1
    mn = -mx - 1
    b30 = (mx >> 1) + 1
    zp = (R[21] ^ sg) - sg
    lo = (R[22] ^ sg) - sg
    hi = (R[23] ^ sg) - sg
    pm = ptr32(b + uint(R[34]))
    ps = ptr32(b + uint(R[35]))
    pa = ptr32(b + uint(P[13]))
    py = ptr8(b + uint(P[7]) + uint(R[3]) + uint(at))
    ff = 0xFFFF
    m32 = (ff << 16) | ff
    o = 0
    while o < n_out:
        a = (pa[o] ^ sg) - sg
        m = (pm[o] ^ sg) - sg
        s = (ps[o] ^ sg) - sg
        one = s <= -2 and s >= -31 and m >= b30
        if not one and s > 0:
            a = (((a << s) + sg) & m32) - sg  # ml_nets_q_shl: wraps
        # P = a * m = h 2^32 + l1 2^16 + l0, from 16-bit halves
        al = a & 0xFFFF
        ah = a >> 16
        bl = m & 0xFFFF
        bh = m >> 16
        ll = uint(al) * uint(bl)
        c1 = ah * bl
        c2 = al * bh
        mid = int(ll >> 16) + (c1 & 0xFFFF) + (c2 & 0xFFFF)
        h = ah * bh + (c1 >> 16) + (c2 >> 16) + (mid >> 16)
        l1 = mid & 0xFFFF
        if one:
            # one rounding: (hi(P +- 2^30) + 2^(e1 - 1)) >> e1, e1 = -shift - 1
            if a < 0:
                l1 -= 0x4000
                if l1 < 0:
                    h -= 1
            else:
                l1 += 0x4000
                if l1 > 0xFFFF:
                    h += 1
            e1 = -s - 1
            v = (h + (1 << (e1 - 1))) >> e1
        else:
            # srdhm (floor((P + 2^30) / 2^31), -1 x -1 saturated), then rdbpot
            if a == m and a == mn:
                h = mx
            else:
                l1 += 0x4000
                if l1 > 0xFFFF:
                    h += 1
                    l1 -= 0x10000
                h = h + h + (l1 >> 15)
                h = ((h + sg) & m32) - sg
            e = 0
            if s < 0:
                e = -s
            mask = (1 << e) - 1
            mask = ((mask + sg) & m32) - sg
            thr = mask >> 1
            if h < 0:
                thr += 1
            v = h >> e
            if (h & mask) > thr:
                v += 1
        v += zp
        if v < lo:
            v = lo
        elif v > hi:
            v = hi
        py[o] = v + 128
        o += 1


@micropython.viper
def _nsrd(buf):
    # word _NR = srdhm(word _NR, word _NR + 1) (ml_nets_q_srdhm; the calls that are not hot)
    P = ptr32(buf)
    sg = 1
    sg <<= 31
    ff = 0xFFFF
    m32 = (ff << 16) | ff
    a = (P[14] ^ sg) - sg
    m = (P[15] ^ sg) - sg
    mx = sg - 1
    if a == m and a == -mx - 1:
        P[14] = mx
        return
    al = a & 0xFFFF
    ah = a >> 16
    bl = m & 0xFFFF
    bh = m >> 16
    ll = uint(al) * uint(bl)
    c1 = ah * bl
    c2 = al * bh
    mid = int(ll >> 16) + (c1 & 0xFFFF) + (c2 & 0xFFFF)
    h = ah * bh + (c1 >> 16) + (c2 >> 16) + (mid >> 16)
    l1 = (mid & 0xFFFF) + 0x4000
    if l1 > 0xFFFF:
        h += 1
        l1 -= 0x10000
    h = h + h + (l1 >> 15)
    P[14] = ((h + sg) & m32) - sg


@micropython.viper
def _nexp(buf, ib: int):
    # word _NR = ml_nets_q_exp_neg(word _NR, ib) (ib 4 or 5): exp_quarter's polynomial and
    # the multipliers of the remainder's bits, each a srdhm (written once, in the loop)
    P = ptr32(buf)
    sg = 1
    sg <<= 31
    ff = 0xFFFF
    m32 = (ff << 16) | ff
    mx = sg - 1
    mn = -mx - 1
    a = (P[14] ^ sg) - sg
    if a == 0:
        P[14] = mx
        return
    frac = 31 - ib
    quarter = 1 << (frac - 2)
    a_mod = (a & (quarter - 1)) - quarter
    rem = ((a_mod - a + sg) & m32) - sg
    x = (a_mod << ib) + (1 << 28)
    c = (P[25] ^ sg) - sg
    x2 = 0
    x3 = 0
    res = 0
    t = 0
    step = 0
    while step < 12:
        # the operands of this step's srdhm
        if step == 0:
            A = x
            B = x
        elif step == 1:
            A = x2
            B = x
        elif step == 2:
            A = x2
            B = x2
        elif step == 3:
            A = t
            B = 715827883  # 1/3
        elif step == 4:
            A = c
            B = t
        else:
            kk = step - 5
            if ib <= kk - 2 or not (rem >> (frac + kk - 2)) & 1:
                step += 1
                continue
            A = res
            B = (P[18 + kk] ^ sg) - sg
        if A == B and A == mn:
            h = mx
        else:
            al = A & 0xFFFF
            ah = A >> 16
            bl = B & 0xFFFF
            bh = B >> 16
            ll = uint(al) * uint(bl)
            c1 = ah * bl
            c2 = al * bh
            mid = int(ll >> 16) + (c1 & 0xFFFF) + (c2 & 0xFFFF)
            h = ah * bh + (c1 >> 16) + (c2 >> 16) + (mid >> 16)
            l1 = (mid & 0xFFFF) + 0x4000
            if l1 > 0xFFFF:
                h += 1
                l1 -= 0x10000
            h = h + h + (l1 >> 15)
            h = ((h + sg) & m32) - sg
        if step == 0:
            x2 = h
        elif step == 1:
            x3 = h
        elif step == 2:
            # x4 / 4 (rdbpot 2) + x3
            v = h >> 2
            if (h & 3) > 1 + (1 if h < 0 else 0):
                v += 1
            t = ((v + x3 + sg) & m32) - sg
        elif step == 3:
            # (srdhm(.., 1/3) + x2) / 2 (rdbpot 1), + x
            u = ((h + x2 + sg) & m32) - sg
            v = u >> 1
            if (u & 1) > (1 if u < 0 else 0):
                v += 1
            t = ((x + v + sg) & m32) - sg
        elif step == 4:
            res = ((c + h + sg) & m32) - sg
        else:
            res = h
        step += 1
    P[14] = res


@micropython.viper
def _nrcp(buf, k: int):
    # word _NR = a (>= 0 in use): k 0: ml_nets_q_one_over_one_plus(a), 1:
    # ml_nets_q_one_minus_over_one_plus(a) (gemmlowp's Newton-Raphson, 7 srdhm in the loop)
    P = ptr32(buf)
    sg = 1
    sg <<= 31
    b30 = ((sg - 1) >> 1) + 1
    ff = 0xFFFF
    m32 = (ff << 16) | ff
    mx = sg - 1
    mn = -mx - 1
    a = (P[14] ^ sg) - sg
    if a == mn:
        hd = -1
    else:
        hd = (a >> 1) + b30  # half_sum(a, 2^31 - 1)
    x = 0
    hdx = 0
    step = 0
    while step < 7:
        if step == 0:
            A = hd
            B = -1010580540
        elif step & 1:
            A = hd
            B = x
        else:
            A = x
            B = ((1 << 29) - hdx + sg & m32) - sg
        if A == B and A == mn:
            h = mx
        else:
            al = A & 0xFFFF
            ah = A >> 16
            bl = B & 0xFFFF
            bh = B >> 16
            ll = uint(al) * uint(bl)
            c1 = ah * bl
            c2 = al * bh
            mid = int(ll >> 16) + (c1 & 0xFFFF) + (c2 & 0xFFFF)
            h = ah * bh + (c1 >> 16) + (c2 >> 16) + (mid >> 16)
            l1 = (mid & 0xFFFF) + 0x4000
            if l1 > 0xFFFF:
                h += 1
                l1 -= 0x10000
            h = h + h + (l1 >> 15)
            h = ((h + sg) & m32) - sg
        if step == 0:
            x = (((P[26] ^ sg) - sg) + h + sg & m32) - sg
        elif step & 1:
            hdx = h
        else:
            # x + SaturatingRoundingMultiplyByPOT<2>(h)
            if h > (1 << 29) - 1:
                h = mx
            elif h < 1 - (1 << 29):
                h = mn
            else:
                h <<= 2
            x = ((x + h + sg) & m32) - sg
        step += 1
    if k:
        x = ((x - (1 << 29) + sg) & m32) - sg
        e = 2
    else:
        e = 1
    thr = (1 << (31 - e)) - 1
    if x > thr:
        x = mx
    elif x < -thr:
        x = mn
    else:
        x = ((((x << e) + sg) & m32) - sg)
    P[14] = x


@micropython.viper
def _nmbqm(buf, v: int, m: int, s: int) -> int:
    # ml_nets_q_mbqm(v, m, s) for the element-wise ops (v small; m: its word _NR + 1 when
    # it does not fit a small int)
    P = ptr32(buf)
    sg = 1
    sg <<= 31
    ff = 0xFFFF
    m32 = (ff << 16) | ff
    if s > 0:
        v = (((v << s) + sg) & m32) - sg
    P[14] = v
    _nsrd(buf)
    h = (P[14] ^ sg) - sg
    e = 0
    if s < 0:
        e = -s
    mask = (1 << e) - 1
    mask = ((mask + sg) & m32) - sg
    thr = mask >> 1
    if h < 0:
        thr += 1
    r = h >> e
    if (h & mask) > thr:
        r += 1
    return r


@micropython.viper
def _nelt(buf, r: int):
    # REQUANTIZE, CLAMP, LOGISTIC, TANH (element-wise, in place allowed): each output a
    # function of its input alone, looked up in the op's table of 256 (_nlut, at load)
    P = ptr32(buf)
    b = uint(ptr8(buf))
    R = ptr32(b + uint(r))
    n = R[4]
    ar = b + uint(P[7])
    pin = ptr8(ar + uint(R[1]))
    pout = ptr8(ar + uint(R[3]))
    T = ptr8(b + uint(R[31]))
    i = 0
    while i < n:
        pout[i] = T[pin[i]]
        i += 1


@micropython.viper
def _nlut(buf, r: int):
    # the table of an element-wise op: its output byte for each input byte q + 128
    # (ml_nets_q7_requantize / _clamp / _sigmoid_tanh's arithmetic)
    P = ptr32(buf)
    b = uint(ptr8(buf))
    R = ptr32(b + uint(r))
    kind = R[0]
    n = 256
    pout = ptr8(b + uint(R[31]))
    sg = 1
    sg <<= 31
    b30 = ((sg - 1) >> 1) + 1
    ff = 0xFFFF
    m32 = (ff << 16) | ff
    mx = sg - 1
    in_zp = (R[19] ^ sg) - sg
    out_zp = (R[21] ^ sg) - sg
    lo = (R[22] ^ sg) - sg
    hi = (R[23] ^ sg) - sg
    s0 = (R[25] ^ sg) - sg
    m1 = (R[26] ^ sg) - sg
    i = 0
    while i < n:
        xq = i - 128
        if kind == 17:
            v = xq
        elif kind == 3:
            P[15] = R[24]
            v = int(_nmbqm(buf, xq - in_zp, 0, s0)) + out_zp
        else:
            lo = -128
            hi = 127
            d = xq - in_zp
            if d <= -m1:
                v = -128
            elif d >= m1:
                v = 127
            else:
                P[15] = R[24]
                a = int(_nmbqm(buf, d, 0, s0))
                P[14] = a
                if kind == 15:
                    if a == 0:
                        y = b30
                    else:
                        if a > 0:
                            P[14] = -a
                        _nexp(buf, 4)
                        _nrcp(buf, 0)
                        y = (P[14] ^ sg) - sg
                        if a < 0:
                            y = ((mx - y + sg) & m32) - sg
                    e = 23
                else:
                    if a == 0:
                        y = 0
                    else:
                        if a > 0:
                            P[14] = -a
                        _nexp(buf, 5)
                        _nrcp(buf, 1)
                        y = (P[14] ^ sg) - sg
                        if a < 0:
                            y = ((0 - y + sg) & m32) - sg
                    e = 24
                # rdbpot(y, e) (- 128 for the logistic's output zero point)
                mask = (1 << e) - 1
                thr = mask >> 1
                if y < 0:
                    thr += 1
                v = y >> e
                if (y & mask) > thr:
                    v += 1
                if kind == 15:
                    v -= 128
        if v < lo:
            v = lo
        elif v > hi:
            v = hi
        pout[i] = v + 128
        i += 1


@micropython.viper
def _nsoft(buf, r: int):
    # SOFTMAX (TFLite int8: output scale 1/256, zero point -128), in place allowed
    P = ptr32(buf)
    b = uint(ptr8(buf))
    R = ptr32(b + uint(r))
    rows = R[4]
    depth = R[5]
    ar = b + uint(P[7])
    pe = ptr32(b + uint(P[13]))
    sg = 1
    sg <<= 31
    ff = 0xFFFF
    m32 = (ff << 16) | ff
    dmin = (R[26] ^ sg) - sg
    E = ptr32(b + uint(R[31]))
    row = 0
    while row < rows:
        px = ptr8(ar + uint(R[1]) + uint(row * depth))
        py = ptr8(ar + uint(R[3]) + uint(row * depth))
        mx = 0
        c = 0
        while c < depth:
            if px[c] > mx:
                mx = px[c]
            c += 1
        total = 0
        c = 0
        while c < depth:
            diff = px[c] - mx
            if diff >= dmin:
                e = (E[-diff] ^ sg) - sg
                pe[c] = e
                v = e >> 12
                if (e & 0xFFF) > 0x7FF + (1 if e < 0 else 0):
                    v += 1
                total = ((total + v + sg) & m32) - sg
            c += 1
        # clz of the sum (> 0), 1 / (1 + the normalised sum - 1)
        ut = uint(total) & uint(m32)
        clz = 0
        while not (ut >> 31) & 1:
            ut <<= 1
            clz += 1
        P[14] = int((ut & uint(m32)) - (uint(1) << 31))
        _nrcp(buf, 0)
        recip = (P[14] ^ sg) - sg
        ex = 12 - clz + 23
        mask = (1 << ex) - 1
        mask = ((mask + sg) & m32) - sg
        c = 0
        while c < depth:
            diff = px[c] - mx
            if diff >= dmin:
                P[14] = recip
                P[15] = pe[c]
                _nsrd(buf)
                h = (P[14] ^ sg) - sg
                thr = mask >> 1
                if h < 0:
                    thr += 1
                v = h >> ex
                if (h & mask) > thr:
                    v += 1
                if v < 0:
                    v = 0
                elif v > 255:
                    v = 255
                py[c] = v
            else:
                py[c] = 0
            c += 1
        row += 1


@micropython.viper
def _nsmx(buf, r: int):
    # a SOFTMAX op's table (at load): E[d] = exp_neg(srdhm(-d << s0, m0), 5) for each
    # difference -d (0 <= d <= 255) of an input from the row's maximum
    P = ptr32(buf)
    b = uint(ptr8(buf))
    R = ptr32(b + uint(r))
    E = ptr32(b + uint(R[31]))
    sg = 1
    sg <<= 31
    ff = 0xFFFF
    m32 = (ff << 16) | ff
    s0 = R[25]
    d = 0
    while d < 256:
        P[14] = ((((0 - d) << s0) + sg) & m32) - sg
        P[15] = R[24]
        _nsrd(buf)
        _nexp(buf, 5)
        E[d] = P[14]
        d += 1


@micropython.viper
def _ndeq(buf, r: int):
    # DEQUANTIZE: y = scale * (q - zp), the float32 product (|q - zp| <= 255) in integers:
    # exact, then rounded to nearest even; overflow -> inf; subnormal scales
    P = ptr32(buf)
    b = uint(ptr8(buf))
    R = ptr32(b + uint(r))
    n = R[4]
    sg = 1
    sg <<= 31
    zp = (R[19] ^ sg) - sg
    px = ptr8(b + uint(P[7]) + uint(R[1]))
    py = ptr32(b + uint(P[8]))
    impl = uint(1) << 23
    mant = impl - 1
    sb = uint(R[30])
    es = int((sb >> 23) & 0xFF)
    ms = sb & mant
    if es:
        ms |= impl
    else:
        es = 1
    i = 0
    while i < n:
        d = px[i] - 128 - zp
        neg = uint(0)
        if d < 0:
            neg = uint(1) << 31
            d = -d
        if d == 0:
            py[i] = 0
            i += 1
            continue
        m = ms * uint(d)  # < 2^32
        e = es
        k = 0
        while (m >> uint(k)) >= (impl << 1):
            k += 1
        if k:
            rem = m & ((uint(1) << uint(k)) - 1)
            half = uint(1) << uint(k - 1)
            m >>= uint(k)
            e += k
            if rem > half or (rem == half and (m & 1)):
                m += 1
                if m == (impl << 1):
                    m >>= 1
                    e += 1
        else:
            while m < impl and e > 1:
                m <<= 1
                e -= 1
        if e >= 255:
            u = uint(0xFF) << 23
        elif m < impl:
            u = m  # subnormal
        else:
            u = (uint(e) << 23) | (m & mant)
        py[i] = u | neg
        i += 1


_N3E38 = 0x7F61B1E6  # the bits of 3.0e38f


def _nbad():
    raise ValueError("model blob: corrupt, truncated or not a model")


def _nspan(off, n, w, align, lo, size):
    return off >= lo and off % align == 0 and off + n * w <= size


def _nmbqm_ok(vmax, m, s):
    # ml_nets_q7__mbqm_ok: 0 or the bound of |mbqm(v, m, s)| for |v| <= vmax (+1)
    if s < -31 or s > 31 or vmax > 0x7FFFFFFF:
        return 0
    xs = vmax << (s if s > 0 else 0)
    if xs > 0x7FFFFFFF:
        return 0
    p = ((xs * (m if m >= 0 else -m)) >> 31) + 1
    bound = (p >> (-s if s < 0 else 0)) + 1
    return bound if bound + 256 <= 0x7FFFFFFF else 0


def _nrec(sec, i, off_ops):
    r = struct.unpack_from("<30i", sec, off_ops + 160 * i)
    u = struct.unpack_from("<10I", sec, off_ops + 160 * i + 120)
    return r, u  # u: scale bits, w off, w n, bias, mult, shift offsets, n_ch, 3 reserved


def _ncheck_op(sec, r, u, size, min_off, arena, nf, n_final):
    # ml_nets_q7_check_op for the kinds this engine runs
    k, g = r[0], r[4:19]
    if u[7] or u[8] or u[9]:
        _nbad()
    for v in r[19:24]:
        if not -128 <= v <= 127:
            _nbad()
    if r[22] > r[23] or u[0] & 0x7FFFFFFF > _N3E38:
        _nbad()
    for v in g:
        if not 0 <= v < 1 << 24:
            _nbad()
    ng, n_w, n_c, k_acc, in_place = 1, 0, 0, 0, 0
    if k in (1, 2):
        n_in = n_out = g[0]
        if (u[0] == 0 or u[0] >> 31 or n_in == 0
                or ((r[1] != -1 or n_in > nf) if k == 1 else (r[3] != -1 or n_in > n_final))):
            _nbad()
    elif k in (3, 17, 15, 16):
        n_in = n_out = g[0]
        in_place = 1
        if k == 3 and not _nmbqm_ok(255, r[24], r[25]):
            _nbad()
        if k in (15, 16) and (r[25] < -31 or r[25] > 31 or r[26] < 0):
            _nbad()
    elif k == 4:
        ng = 3
        if g[0] < 1 or g[1] < 1 or g[2] < 1:
            _nbad()
        n_in, n_out = g[2] * g[0], g[2] * g[1]
        n_w, n_c, k_acc = g[1] * g[0], g[1], g[0]
    else:  # 14: softmax
        ng = 2
        if g[0] < 1 or g[1] < 1 or g[1] > 511 or r[25] < 0 or r[25] > 31 or r[26] > 0:
            _nbad()
        n_in = n_out = g[0] * g[1]
        in_place = 1
    for v in g[ng:]:
        if v:
            _nbad()
    if n_in == 0 or n_in >= 0x7FFFFFFF or n_out == 0 or n_out >= 0x7FFFFFFF or r[2] != -1:
        _nbad()
    if k != 1 and not (r[1] >= 0 and r[1] + n_in <= arena):
        _nbad()
    if k != 2 and not (r[3] >= 0 and r[3] + n_out <= arena):
        _nbad()
    if (k not in (1, 2) and r[3] < r[1] + n_in and r[1] < r[3] + n_out
            and not (in_place and r[3] == r[1] and n_in == n_out)):
        _nbad()
    w_off, w_n, b_off, m_off, s_off, n_ch = u[1:7]
    if (w_n != n_w or (w_n == 0) != (w_off == 0)
            or (w_n and not _nspan(w_off, w_n, 1, 4, min_off, size))):
        _nbad()
    if (n_ch != n_c or (n_ch == 0) != (b_off == 0) or (n_ch == 0) != (m_off == 0)
            or (n_ch == 0) != (s_off == 0)):
        _nbad()
    if n_ch:
        acc_max = k_acc * 255 * 128
        if (not _nspan(b_off, n_ch, 4, 4, min_off, size) or acc_max > 0x7FFFFFFF
                or not _nspan(m_off, n_ch, 4, 4, min_off, size)
                or not _nspan(s_off, n_ch, 4, 4, min_off, size)):
            _nbad()
        bias = struct.unpack_from("<" + str(n_ch) + "i", sec, b_off)
        mult = struct.unpack_from("<" + str(n_ch) + "i", sec, m_off)
        shift = struct.unpack_from("<" + str(n_ch) + "i", sec, s_off)
        for c in range(n_ch):
            ab = acc_max + (bias[c] if bias[c] >= 0 else -bias[c])
            if ab > 0x7FFFFFFF or not _nmbqm_ok(ab, mult[c], shift[c]):
                _nbad()


class _NetModel:
    """An int8 fully-connected net run by the viper engine (same API as the C module's
    Model): predict(x), predict_proba(x, out) / regress(x, out); x array('f'), or the
    integer entry's array('b') (int8 values in the input quantization) / array('h')."""

    def __init__(self, data, off, size, task_e, nf_e):
        sec = memoryview(data)[off:off + size]
        if size < 64:
            _nbad()
        h = struct.unpack_from("<16I", sec, 0)
        version, task, nf, n_out, n_final, flags, n_ops, arena, o_out, off_ops, rec = h[0:11]
        if version not in (1, 2):
            raise ValueError("model blob: unsupported format version")
        dtype = h[11] if version == 2 else 0
        arena_bytes = h[12] if version == 2 else 0
        for v in h[13 if version == 2 else 11:16]:
            if v:
                _nbad()
        if dtype > 1 or (dtype == 0 and arena_bytes) or task > 1:
            _nbad()
        if (rec != (160 if dtype else 128) or nf == 0 or nf >= 0x7FFFFFFF or n_final == 0
                or arena == 0 or arena >= 0x7FFFFFFF or n_ops == 0 or flags & ~1
                or o_out + n_final > arena):
            _nbad()
        if task == 0:
            if (n_final != 1 or n_out != 2) if flags & 1 else (n_final < 2 or n_out != n_final):
                _nbad()
        elif flags or n_out != n_final:
            _nbad()
        if not _nspan(off_ops, n_ops, rec, 4, 64, size):
            _nbad()
        if not dtype:
            raise ValueError("model blob: float32 nets need the C module (the viper engine "
                             "runs int8 fully-connected nets)")
        if (o_out or arena_bytes == 0 or arena_bytes >= 0x7FFFFFF0
                or arena != n_final + (arena_bytes + 3) // 4):
            _nbad()
        for i in range(n_ops):
            k = struct.unpack_from("<i", sec, off_ops + 160 * i)[0]
            if k in _NKINDS and k not in _NRUNS:
                raise ValueError("model blob: int8 nets with " + _NKINDS[k] + " ops need the C "
                                 "module (the viper engine runs fully-connected nets)")
        min_off = off_ops + 160 * n_ops
        recs = []
        for i in range(n_ops):
            r, u = _nrec(sec, i, off_ops)
            if r[0] not in _NRUNS:
                _nbad()
            _ncheck_op(sec, r, u, size, min_off, arena_bytes, nf, n_final)
            if i + 1 == n_ops and (r[0] != 2 or r[4] != n_final):
                _nbad()
            recs.append((r, u))
        # ml_model_load: the section table agrees with the section
        if task_e != task or nf_e != nf:
            _nbad()
        # the private buffer: parameters, records, DENSE tables, arena, outputs, exps
        at = 4 * _N_NQ + 160 * n_ops
        tabs = []
        depth = 1
        for r, u in recs:
            if r[0] in (4, 14) and r[5] > depth:
                depth = r[5]  # the scratch words: DENSE sums, SOFTMAX exps of a row
            if r[0] == 4:
                tabs.append(at)
                at += ((u[2] + 3) & ~3) + 12 * u[6]
            elif r[0] in (1, 14):
                tabs.append(at)
                at += 4 * 256  # the thresholds (255); exp of each difference (256)
            elif r[0] in (3, 15, 16, 17):
                tabs.append(at)
                at += 256  # the output of each input
            else:
                tabs.append(0)
        a_at = at
        at += (arena_bytes + 3) & ~3
        y_at = at
        at += 4 * n_final
        buf = bytearray(at + 4 * depth)
        p = array.array("i", bytes(4 * _N_NQ))
        p[_NF], p[_NNO], p[_NFIN], p[_NTASK], p[_NBIN] = nf, n_out, n_final, task, flags & 1
        p[_NOPS], p[_NRECS], p[_NARENA], p[_NY] = n_ops, 4 * _N_NQ, a_at, y_at
        p[_NW], p[_NEXPS] = _W, at
        p[_NINT] = 1 if n_ops >= 2 and recs[0][0][0] == 1 else 0
        buf[0:4 * _N_NQ] = bytes(p)
        struct.pack_into("<7I", buf, 4 * _NMULTS, 1672461947, 1302514674, 790015084,
                         290630308, 39332535, 720401, 242)
        struct.pack_into("<2I", buf, 4 * _NEXPC, 1895147668, 1515870810)
        if _W:  # the array type (as _vbuild)
            buf[4 * _NATYPE:4 * _NATYPE + 8] = _atype(id(_TC_F))
        for i, (r, u) in enumerate(recs):
            o = 4 * _N_NQ + 160 * i
            buf[o:o + 160] = sec[off_ops + 160 * i:off_ops + 160 * i + 160]
            if tabs[i]:
                struct.pack_into("<I", buf, o + 124, tabs[i])
            if r[0] == 1:  # the thresholds' guesses, then the exact search
                sc = struct.unpack_from("<f", sec, off_ops + 160 * i + 120)[0]
                for j in range(255):
                    v = (j - 127.5 - r[21]) * sc
                    v = 3e38 if v > 3e38 else (-3e38 if v < -3e38 else v)
                    k = struct.unpack("<I", struct.pack("<f", v))[0]
                    struct.pack_into("<I", buf, tabs[i] + 4 * j,
                                     k ^ 0xFFFFFFFF if k >> 31 else k | 0x80000000)
                _nthr(buf, o)
            elif r[0] == 14:
                _nsmx(buf, o)
            elif r[0] in (3, 15, 16, 17):
                _nlut(buf, o)
            if r[0] != 4:
                continue
            t = tabs[i]
            n_in, n_ch, w_off, zp = r[4], u[6], u[1], r[19]
            wb = bytearray(sec[w_off:w_off + u[2]])
            bias = struct.unpack_from("<" + str(n_ch) + "i", sec, u[3])
            c = array.array("i", bytes(4 * n_ch))
            for ch in range(n_ch):
                s = 0
                for j in range(ch * n_in, ch * n_in + n_in):
                    v = wb[j] ^ 0x80
                    wb[j] = v
                    s += v
                c[ch] = bias[ch] - (128 + zp) * (s - 128 * n_in)
            buf[t:t + u[2]] = wb
            tc = t + ((u[2] + 3) & ~3)
            buf[tc:tc + 4 * n_ch] = bytes(c)
            buf[tc + 4 * n_ch:tc + 8 * n_ch] = sec[u[4]:u[4] + 4 * n_ch]
            buf[tc + 8 * n_ch:tc + 12 * n_ch] = sec[u[5]:u[5] + 4 * n_ch]
            struct.pack_into("<I", buf, o + 124, t)
            struct.pack_into("<4I", buf, o + 132, tc, tc + 4 * n_ch, tc + 8 * n_ch)
        self._buf = buf
        self._nf, self._no, self._task = nf, n_out, task
        self._int = p[_NINT]
        self._q = None
        if self._int:
            self._q = (struct.unpack_from("<f", sec, off_ops + 120)[0], recs[0][0][21])
        self._x_ok = self._out_ok = self._xt = None

    def n_features(self):
        return self._nf

    def n_outputs(self):
        return self._no

    def n_steps(self):
        return 1

    def task(self):
        return self._task

    def is_classifier(self):
        return self._task == 0

    def input_quantization(self):
        """(scale, zero_point) of the integer entry (array('b') / array('h') input)."""
        return self._q

    def decision_function(self, x, out):
        raise TypeError("this model has no such method")

    score_samples = transform = decision_function

    def _fail(self, r, op):
        if r == -1:
            raise ValueError("x must be array('f') of n_features values")
        if r == -2:
            raise ValueError("out must be array('f') of at least the output width")
        if r == -4:
            raise TypeError("array('b')/array('h') input is for int8 nets with an integer "
                            "entry; this model takes array('f')")
        if r == -5:
            raise ValueError("x must have n_features values")
        if op == 0:
            raise TypeError("predict() is for classifiers and outlier detectors; use "
                            "regress(x, out) / transform(x, out)")
        raise TypeError("this model has no such method")

    if _W:

        def predict(self, x):
            r = _nrun(self._buf, id(x), 0, 0, x, None)
            if r < 0:
                self._fail(r, 0)
            return r

        def predict_proba(self, x, out):
            r = _nrun(self._buf, id(x), id(out), 1, x, out)
            if r < 0:
                self._fail(r, 1)

        def regress(self, x, out):
            r = _nrun(self._buf, id(x), id(out), 2, x, out)
            if r < 0:
                self._fail(r, 2)

    else:

        def _call(self, x, out, op):
            # as the fallback: the typecode is read once per array object (it never
            # changes; holding the object keeps its identity unique)
            if (op == 2) != (self._task == 1):
                self._fail(-3, op)
            if type(x) is not array.array:
                self._fail(-1, op)
            t = self._xt if x is self._x_ok else _typecode(x)
            if t in ("b", "h"):
                if not self._int:
                    self._fail(-4, op)
                if len(x) != self._nf:
                    self._fail(-5, op)
                mode = 1 if t == "b" else 2
            elif t != "f" or len(x) != self._nf:
                self._fail(-1, op)
            else:
                mode = 0
            self._x_ok, self._xt = x, t
            if op:
                if type(out) is not array.array or len(out) < self._no:
                    self._fail(-2, op)
                if out is not self._out_ok:
                    if _typecode(out) != "f":
                        self._fail(-2, op)
                    self._out_ok = out
            return _nrun(self._buf, 0, 0, op | 8 | (mode << 4), x, out)

        def predict(self, x):
            return self._call(x, None, 0)

        def predict_proba(self, x, out):
            self._call(x, out, 1)

        def regress(self, x, out):
            self._call(x, out, 2)


@micropython.viper
def _atype_into(dst, fid: uint):
    ptr32(dst)[0] = ptr32(fid)[0]
    ptr32(dst)[1] = ptr32(fid)[1]


def _atype(fid):
    d = bytearray(8)
    _atype_into(d, fid)
    return d


# nets-engine: end


@micropython.viper
def _vcrc(data) -> uint:
    # CRC-32 (IEEE, reflected) of the buffer data, bit by bit in viper (the fallback's
    # _crc32 in Python costs about 30,000 instructions per byte of the file on ports
    # without binascii.crc32; this, about 280 on Cortex-M4F)
    p = ptr8(data)
    n = int(len(data))
    ff = uint(0xFFFF)
    c = (ff << 16) | ff
    poly = (uint(0xEDB8) << 16) | uint(0x8320)
    i = 0
    while i < n:
        c ^= uint(p[i])
        k = 0
        while k < 8:
            if c & 1:
                c = (c >> 1) ^ poly
            else:
                c >>= 1
            k += 1
        i += 1
    return c ^ ((ff << 16) | ff)


def _crc32(data):  # replaces the fallback's (its loader calls it): the same value
    return _vcrc(data)


_NOFAM = "model blob: model family not supported by the viper engine"


def _open(data):
    try:
        return Model(data)
    except ValueError as e:
        if e.args[0] != _NOFAM:
            raise
    # a valid container (checked by the fallback's loader) with one section of another
    # family: int8 nets run here
    fam, task, _, off, size, nf = struct.unpack_from("<HBBIII", data, _HEAD)
    if fam == 0 or fam > 9:  # not a family the C module knows: its message
        raise ValueError("model blob: model family or method not supported")
    if fam != 8 or "_NetModel" not in globals():
        raise ValueError(_NOFAM + ": it needs the C module")
    return _NetModel(data, off, size, task, nf)


def load(src):
    if isinstance(src, str):
        with open(src, "rb") as f:
            src = f.read()
    return _open(src)


def load_at(address, size):
    """A blob in memory-mapped flash (needs the port's uctypes; its tables are copied)."""
    import uctypes

    return _open(uctypes.bytearray_at(address, size))
