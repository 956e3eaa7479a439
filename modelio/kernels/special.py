"""Special functions in numpy: the error function (numpy has none; math.erf is scalar only), and
the Chebyshev coefficients of the Bessel function I0 for graphs that evaluate it (numpy has
np.i0)."""

import numpy as np

__all__ = ["I0_LARGE", "I0_SMALL", "erf", "erfc_positive", "erfinv", "erfinv_initial"]

# Cephes i0.c (as numpy's np.i0): I0(x) = exp(x) * chbevl(x / 2 - 2, I0_SMALL) for
# |x| <= 8, exp(x) * chbevl(32 / x - 2, I0_LARGE) / sqrt(x) above.
I0_SMALL = (
    -4.4153416464793395e-18,
    3.3307945188222384e-17,
    -2.431279846547955e-16,
    1.715391285555133e-15,
    -1.1685332877993451e-14,
    7.676185498604936e-14,
    -4.856446783111929e-13,
    2.95505266312964e-12,
    -1.726826291441556e-11,
    9.675809035373237e-11,
    -5.189795601635263e-10,
    2.6598237246823866e-09,
    -1.300025009986248e-08,
    6.046995022541919e-08,
    -2.670793853940612e-07,
    1.1173875391201037e-06,
    -4.4167383584587505e-06,
    1.6448448070728896e-05,
    -5.754195010082104e-05,
    0.00018850288509584165,
    -0.0005763755745385824,
    0.0016394756169413357,
    -0.004324309995050576,
    0.010546460394594998,
    -0.02373741480589947,
    0.04930528423967071,
    -0.09490109704804764,
    0.17162090152220877,
    -0.3046826723431984,
    0.6767952744094761,
)
# see I0_SMALL
I0_LARGE = (
    -7.233180487874754e-18,
    -4.830504485944182e-18,
    4.46562142029676e-17,
    3.461222867697461e-17,
    -2.8276239805165836e-16,
    -3.425485619677219e-16,
    1.7725601330565263e-15,
    3.8116806693526224e-15,
    -9.554846698828307e-15,
    -4.150569347287222e-14,
    1.54008621752141e-14,
    3.8527783827421426e-13,
    7.180124451383666e-13,
    -1.7941785315068062e-12,
    -1.3215811840447713e-11,
    -3.1499165279632416e-11,
    1.1889147107846439e-11,
    4.94060238822497e-10,
    3.3962320257083865e-09,
    2.266668990498178e-08,
    2.0489185894690638e-07,
    2.8913705208347567e-06,
    6.889758346916825e-05,
    0.0033691164782556943,
    0.8044904110141088,
)

# W. J. Cody, "Rational Chebyshev approximations for the error function",
# Math. Comp. 1969 (Netlib specfun CALERF). Each interval gives ~18 digits.
_ERF_SMALL_NUM = (
    3.16112374387056560e00,
    1.13864154151050156e02,
    3.77485237685302021e02,
    3.20937758913846947e03,
    1.85777706184603153e-1,
)
_ERF_SMALL_DEN = (
    2.36012909523441209e01,
    2.44024637934444173e02,
    1.28261652607737228e03,
    2.84423683343917062e03,
)
_ERFC_MID_NUM = (
    5.64188496988670089e-1,
    8.88314979438837594e00,
    6.61191906371416295e01,
    2.98635138197400131e02,
    8.81952221241769090e02,
    1.71204761263407058e03,
    2.05107837782607147e03,
    1.23033935479799725e03,
    2.15311535474403846e-8,
)
_ERFC_MID_DEN = (
    1.57449261107098347e01,
    1.17693950891312499e02,
    5.37181101862009858e02,
    1.62138957456669019e03,
    3.29079923573345963e03,
    4.36261909014324716e03,
    3.43936767414372164e03,
    1.23033935480374942e03,
)
_ERFC_BIG_NUM = (
    3.05326634961232344e-1,
    3.60344899949804439e-1,
    1.25781726111229246e-1,
    1.60837851487422766e-2,
    6.58749161529837803e-4,
    1.63153871373020978e-2,
)
_ERFC_BIG_DEN = (
    2.56852019228982242e00,
    1.87295284992346047e00,
    5.27905102951428412e-1,
    6.05183413124413191e-2,
    2.33520497626869185e-3,
)
_ERF_SMALL_LIMIT = 0.46875
_ERF_MID_LIMIT = 4.0
_ERFC_UNDERFLOW = 26.543  # erfc(y) < smallest float64 beyond this
_INV_SQRT_PI = 0.56418958354775628695


def _cody_ratio(t: np.ndarray, num: tuple, den: tuple) -> np.ndarray:
    """Evaluate Cody's rational form: num[-1] is the leading numerator term,
    the denominator is monic, and num[-2]/den[-1] are the constant terms."""
    xnum = num[-1] * t
    xden = t
    for a, b in zip(num[:-2], den[:-1]):
        xnum = (xnum + a) * t
        xden = (xden + b) * t
    return (xnum + num[-2]) / (xden + den[-1])


def _exp_minus_square(y: np.ndarray) -> np.ndarray:
    """exp(-y*y) computed as Cody does, splitting y to avoid cancellation error."""
    y_head = np.trunc(y * 16.0) / 16.0
    return np.exp(-y_head * y_head) * np.exp(-(y - y_head) * (y + y_head))


def erf(x: np.ndarray) -> np.ndarray:
    """Error function, elementwise.

    Takes any float array (or array-like) and returns an array of the same
    shape and dtype. Internally evaluated in float64 with Cody's rational
    Chebyshev approximations (absolute error ~1e-16 versus ``math.erf``).
    """
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float32)
    x64 = x.astype(np.float64)
    y = np.abs(x64)
    out = np.empty_like(x64)

    small = y <= _ERF_SMALL_LIMIT
    ys = y[small]
    out[small] = x64[small] * _cody_ratio(ys * ys, _ERF_SMALL_NUM, _ERF_SMALL_DEN)

    # Beyond the small interval compute erfc(|x|), then erf = sign(x) * (1 - erfc).
    mid = (y > _ERF_SMALL_LIMIT) & (y <= _ERF_MID_LIMIT)
    ym = y[mid]
    erfc_mid = _exp_minus_square(ym) * _cody_ratio(ym, _ERFC_MID_NUM, _ERFC_MID_DEN)
    out[mid] = np.copysign(1.0 - erfc_mid, x64[mid])

    big = (y > _ERF_MID_LIMIT) & (y < _ERFC_UNDERFLOW)
    yb = y[big]
    inv_sq = 1.0 / (yb * yb)
    tail = inv_sq * _cody_ratio(inv_sq, _ERFC_BIG_NUM, _ERFC_BIG_DEN)
    erfc_big = _exp_minus_square(yb) * (_INV_SQRT_PI - tail) / yb
    out[big] = np.copysign(1.0 - erfc_big, x64[big])

    huge = y >= _ERFC_UNDERFLOW  # includes +-inf; NaN fails every comparison
    out[huge] = np.copysign(1.0, x64[huge])
    out[np.isnan(y)] = np.nan
    return out.astype(x.dtype, copy=False)


# M. Giles, "Approximating the erfinv function", GPU Computing Gems Jade (2011): the
# single-precision polynomials in w = -log(1 - y^2), central (w < 5) and tail branches.
ERFINV_CENTRAL = (2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06,
                  0.00021858087, -0.00125372503, -0.00417768164, 0.246640727, 1.50140941)
ERFINV_TAIL = (-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844,
               0.00573950773, -0.0076224613, 0.00943887047, 1.00167406, 2.83297682)
ERFINV_SPLIT = 5.0
TWO_OVER_SQRT_PI = 1.1283791670955126


def erfc_positive(y: np.ndarray) -> np.ndarray:
    """erfc(y) = 1 - erf(y) for float64 y >= 0, accurate in relative terms in the tail (Cody's
    approximations, as `erf` uses them); 0 where it underflows."""
    out = 1.0 - erf(np.minimum(y, _ERF_SMALL_LIMIT))
    mid = (y > _ERF_SMALL_LIMIT) & (y <= _ERF_MID_LIMIT)
    ym = y[mid]
    out[mid] = _exp_minus_square(ym) * _cody_ratio(ym, _ERFC_MID_NUM, _ERFC_MID_DEN)
    big = y > _ERF_MID_LIMIT
    yb = np.minimum(y[big], _ERFC_UNDERFLOW)
    inv_sq = 1.0 / (yb * yb)
    tail = inv_sq * _cody_ratio(inv_sq, _ERFC_BIG_NUM, _ERFC_BIG_DEN)
    out[big] = np.where(y[big] < _ERFC_UNDERFLOW,
                        _exp_minus_square(yb) * (_INV_SQRT_PI - tail) / yb, 0.0)
    return out


def erfinv_initial(y: np.ndarray, rest=None) -> np.ndarray:
    """Giles's approximation of erfinv(y) for |y| < 1 (relative error ~2e-7 for float32
    inputs; the Newton steps of `erfinv` refine it). `rest`: 1 - |y| when known exactly."""
    rest = 1.0 - np.abs(y) if rest is None else rest
    w = -np.log(rest * (2.0 - rest))
    central, tail = w - 2.5, np.sqrt(w) - 3.0
    p_central = np.full_like(y, ERFINV_CENTRAL[0])
    p_tail = np.full_like(y, ERFINV_TAIL[0])
    for a, b in zip(ERFINV_CENTRAL[1:], ERFINV_TAIL[1:]):
        p_central = a + p_central * central
        p_tail = b + p_tail * tail
    return np.where(w < ERFINV_SPLIT, p_central, p_tail) * y


def erfinv(y: np.ndarray) -> np.ndarray:
    """Inverse error function, elementwise: x with erf(x) = y for -1 < y < 1, +-inf at +-1, NaN
    beyond and for NaN. Same shape and dtype as `y` (integers give float32).

    Evaluated in float64 from Giles's approximation by Newton steps: on erf(x) = y for
    |y| <= 0.5, on log(erfc(|x|)) = log(1 - |y|) beyond (1 - |y| is exact there, and erfc keeps
    its relative accuracy where erf rounds to 1). Each step squares the relative error."""
    y = np.asarray(y)
    if not np.issubdtype(y.dtype, np.floating):
        y = y.astype(np.float32)
    y64 = y.astype(np.float64)
    inside = np.abs(y64) < 1.0
    work = np.where(inside, y64, 0.0)
    rest = 1.0 - np.abs(work)
    x = erfinv_initial(work, rest)
    central = np.abs(work) <= 0.5
    size = np.abs(x)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for _ in range(4):
            slope = TWO_OVER_SQRT_PI * np.exp(-x * x)
            on_erf = x - (erf(x) - work) / slope
            tail = erfc_positive(size)
            size = size + (np.log(tail) - np.log(rest)) * tail / (
                TWO_OVER_SQRT_PI * np.exp(-size * size))
            x = np.where(central, on_erf, np.copysign(size, work))
            size = np.abs(x)
        x = np.where(inside, x, np.where(np.abs(y64) == 1.0, np.copysign(np.inf, y64), np.nan))
    return x.astype(y.dtype, copy=False)
