"""Prints optax one-cycle reference values as Rust tables for tests/reference_optax.rs.

Provenance only (not run in CI): /work/pyref/bin/python gen_optax.py
Runs JAX in 64-bit mode so that the values carry optax's semantics at f64 precision.
"""
import jax

jax.config.update("jax_enable_x64", True)
import optax  # noqa: E402


def table(name, sched, steps):
    print(f"const {name}: &[(u32, f64)] = &[")
    for k in steps:
        print(f"    ({k}, {float(sched(k))!r}),")
    print("];")


print(f"// optax {optax.__version__}, jax {jax.__version__}, x64")
table("OX_COS_T10", optax.cosine_onecycle_schedule(10, 1000.0, pct_start=0.3, div_factor=10.0,
                                                   final_div_factor=100.0), range(12))
table("OX_LIN_T10", optax.linear_onecycle_schedule(10, 1000.0, pct_start=0.3, pct_final=0.7,
                                                   div_factor=10.0, final_div_factor=100.0), range(12))
sample = [0, 1, 150, 299, 300, 301, 500, 849, 850, 851, 999, 1000, 5000]
table("OX_COS_DEFAULT_T1000", optax.cosine_onecycle_schedule(1000, 0.1), sample)
table("OX_LIN_DEFAULT_T1000", optax.linear_onecycle_schedule(1000, 0.1), sample)
table("OX_LIN_DEFAULT_T7", optax.linear_onecycle_schedule(7, 2.0), range(9))
table("OX_COS_DEFAULT_T7", optax.cosine_onecycle_schedule(7, 2.0), range(9))
