"""GARCH(1,1) by maximum likelihood with the engine's gradients, checked three ways.

    python demos/garch_autodiff.py [OUT_DIR]      # default: ./garch_autodiff_out

On the embedded S&P 500 (5,030 daily % log returns, 1999-2018):

1. fit GARCH(1,1) with ``vol.models.garch.fit_garch`` (SLSQP driven by the engine's exact gradient
   of the log-likelihood, a Tensor graph ending in one O(T) custom op);
2. the engine's gradient at a point away from the optimum equals float64 central differences, and
   equals the gradient of the same likelihood built step by step from scalar ``Value`` ops;
3. the fitted conditional variance equals a plain numpy loop of the closed-form recursion
   ``s_t = omega + alpha e_{t-1}^2 + beta s_{t-1}``;
4. pictures: the ``Value`` graph of the likelihood of the first three days (SVG) and the fitted
   volatility against the absolute returns (PNG); the fit summary as text.
"""
from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import numpy as np

from tinygrad_trade import Tensor, Value
from tinygrad_trade.gradcheck import numerical_grad
from tinygrad_trade.graph import grad
from tinygrad_trade.viz import render
from tinygrad_trade.vol.data import load_sp500
from tinygrad_trade.vol.features import log_returns
from tinygrad_trade.vol.models.garch import fit_garch, loglik_tensor, loglik_value


def numpy_variance(e, omega, alpha, beta, bc):
    """The GARCH(1,1) recursion written out, pre-sample values = the backcast ``bc``."""
    s = np.empty_like(e)
    prev_s, prev_e2 = bc, bc
    for t in range(e.size):
        s[t] = omega + alpha * prev_e2 + beta * prev_s
        prev_s, prev_e2 = s[t], e[t] ** 2
    return s


def main(out: Path) -> list:
    out.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)   # stale opens: GARCH uses closes only
        df = load_sp500()
    dates = df.index[1:]
    r = log_returns(df).to_numpy()[1:]

    # 1. The fit.
    t0 = time.perf_counter()
    res = fit_garch(r)                      # constant mean, GARCH(1,1), normal errors
    print(f"fit in {1e3 * (time.perf_counter() - t0):.0f} ms: log-likelihood {res.loglik:.3f}")
    print(res.params.round(5).to_string())

    # 2. Gradients at a point away from the optimum: engine (custom op) vs differences vs Value graph.
    theta0 = np.array([0.04, 0.03, 0.08, 0.9])          # mu, omega, alpha, beta
    L = lambda th: loglik_tensor(th, r, res.backcast)   # noqa: E731
    theta = Tensor(theta0, requires_grad=True)
    L(theta).backward()
    fd = numerical_grad(L, [Tensor(theta0)])[0]
    xs = [Value(v) for v in theta0]
    by_value = grad(loglik_value(xs, r, res.backcast), xs)
    print(f"\ngradient of the log-likelihood at {theta0.tolist()}:")
    print(f"{'':>6} {'engine':>14} {'finite diff.':>14} {'Value graph':>14}")
    for name, g, f, v in zip(res.params.index, theta.grad, fd, by_value):
        print(f"{name:>6} {g:14.6f} {f:14.6f} {v:14.6f}")
    rel = np.max(np.abs(theta.grad - fd) / np.maximum(1.0, np.abs(fd)))
    print(f"largest relative difference engine vs finite differences: {rel:.1e}")
    assert rel < 1e-5 and np.allclose(theta.grad, by_value, rtol=1e-9, atol=1e-6)

    # 3. The variance path against the plain recursion.
    mu, omega, alpha, beta = res.params
    s_np = numpy_variance(r - mu, omega, alpha, beta, res.backcast)
    diff = np.max(np.abs(s_np - res.conditional_variance))
    print(f"\nconditional variance vs a numpy loop: max |difference| = {diff:.1e} (%^2)")
    assert diff < 1e-9

    # 4. Files.
    written = [out / "garch_summary.txt"]
    written[0].write_text(res.summary() + "\n")
    p = [Value(v, label=n) for n, v in res.params.items()]
    three = loglik_value(p, r[:3], res.backcast)        # the whole likelihood of 3 days as a graph
    three.label = "loglik"
    three.backward()
    written.append(Path(render(three, out / "garch_3day_graph.svg", max_nodes=None)))

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 4))
    ax.plot(dates, np.abs(r) * np.sqrt(252), lw=0.4, color="0.7", label="|r| x sqrt(252)")
    ax.plot(dates, np.sqrt(252 * res.conditional_variance), lw=1.0, label="GARCH(1,1) volatility (engine fit)")
    ax.plot(dates, np.sqrt(252 * s_np), lw=0.6, ls="--", label="numpy recursion (same parameters)")
    ax.set_ylabel("annualised %")
    ax.set_ylim(0, 100)
    ax.legend(loc="upper right")
    ax.set_title("S&P 500: GARCH(1,1) conditional volatility, 1999-2018")
    fig.tight_layout()
    written.append(out / "garch_volatility.png")
    fig.savefig(written[-1], dpi=100)
    plt.close(fig)
    return written


if __name__ == "__main__":
    out_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("garch_autodiff_out")
    for path in main(out_dir):
        print(f"wrote {path}")
