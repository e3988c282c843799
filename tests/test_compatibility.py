"""docs/compatibility.md is generated from the code and up to date, and the differences its
hand-kept table claims are real (regenerate with .ci/gen_compatibility.py)."""

import importlib.util
import pathlib

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax
from funcgrad.nn import losses

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _load_generator():
    spec = importlib.util.spec_from_file_location("gen", ROOT / ".ci" / "gen_compatibility.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    return gen


gen = _load_generator()


def test_compatibility_page_is_up_to_date():
    current = (ROOT / "docs" / "compatibility.md").read_text()
    assert current == gen.render(), (
        "docs/compatibility.md is stale: run `python .ci/gen_compatibility.py`"
    )


def test_hand_kept_tables_name_listed_names():
    listed = {
        f"{s.library}.{entry.partition('=')[0]}" for s in gen.SECTIONS for entry in s.names.split()
    }
    assert set(gen.DIFFERS) <= listed, set(gen.DIFFERS) - listed
    assert set(gen.PARAMS) <= listed, set(gen.PARAMS) - listed


def test_statuses_come_from_the_code(monkeypatch):
    section = gen.Section("jax", "t", ("funcgrad",), "grad no_such_name jit")
    by_name = {r.jax_name: r for r in gen.rows(section)}
    assert by_name["jax.grad"].status == "supported"
    assert by_name["jax.no_such_name"].status == "missing"
    assert by_name["jax.jit"].status == "differs" and "in_shardings" in by_name["jax.jit"].note
    monkeypatch.setitem(gen.DIFFERS, "jax.no_such_name", "a difference of a missing name")
    with pytest.raises(LookupError, match="does not have"):
        gen.rows(section)


def _raises(fn):
    with pytest.raises(NotImplementedError):
        fn()
    return True


def _key_is_raw():
    key = fg.random.key(0)
    return key.shape == (2,) and key.dtype == np.uint32


def _multi_dot_left_to_right():
    a, b, c = fnp.ones((100, 10)), fnp.ones((10, 100)), fnp.ones((100, 1))
    return "f32[100,100]" in str(fg.make_jaxpr(fnp.linalg.multi_dot)([a, b, c]))


def _losses_reduce_to_the_mean(fn=losses.softmax_cross_entropy):
    logits, labels = fnp.ones((3, 4)), fnp.array([0, 1, 2])
    return fn(logits, labels).shape == () and fn(logits, labels, reduction="none").shape == (3,)


def _batchnorm_takes_the_batch():
    bn, state = fg.nn.make_with_state(fg.nn.BatchNorm)(3, None, mode="batch")
    _, state = bn(fnp.ones((4, 3)), state)  # the whole batch (N, C), outside vmap
    with pytest.raises(ValueError):  # with a named axis it takes one example, as Equinox
        fg.nn.BatchNorm(3, "batch")(fnp.ones((4, 3)), state)
    return isinstance(state, fg.nn.State)


CLAIMS = {
    "jax.random.key": _key_is_raw,
    "jax.random.key_data": lambda: fg.random.key_data(fg.random.key(1)).shape == (2,),
    "jax.random.wrap_key_data": lambda: fg.random.wrap_key_data(fg.random.key(1)).shape == (2,),
    "jax.random.bits": lambda: _raises(
        lambda: fg.random.bits(fg.random.key(0), (2,), bit_width=64)
    ),
    "jax.lax.conv_general_dilated": lambda: _raises(
        lambda: lax.conv_general_dilated(
            fnp.ones((2, 2, 4, 4)), fnp.ones((2, 2, 3, 3)), (1, 1), "SAME", batch_group_count=2
        )
    ),
    "jax.numpy.reshape": lambda: _raises(lambda: fnp.reshape(fnp.arange(6), (2, 3), order="F")),
    "jax.numpy.pad": lambda: _raises(lambda: fnp.pad(fnp.arange(3.0), 1, mode="maximum")),
    "jax.numpy.unique": lambda: _raises(
        lambda: fnp.unique(fnp.array([1, 1, 2]), size=2, return_index=True)
    ),
    "jax.numpy.r_": lambda: _raises(lambda: fnp.r_["r", [1, 2], [3, 4]]),
    "jax.numpy.c_": lambda: _raises(lambda: fnp.c_["r", [1, 2], [3, 4]]),
    "jax.numpy.linalg.det": lambda: (
        not np.isfinite(
            np.asarray(fg.grad(fnp.linalg.det)(fnp.array([[1.0, 2.0], [2.0, 4.0]])))
        ).all()
    ),
    "jax.numpy.linalg.multi_dot": _multi_dot_left_to_right,
    "equinox.nn.BatchNorm": _batchnorm_takes_the_batch,
    "optax.losses.softmax_cross_entropy_with_integer_labels": _losses_reduce_to_the_mean,
    "optax.losses.multiclass_hinge_loss": lambda: _losses_reduce_to_the_mean(
        losses.multiclass_hinge_loss
    ),
}


@pytest.mark.parametrize("name", sorted(gen.DIFFERS))
def test_claimed_difference_is_real(name):
    if name.startswith("optax.losses.") and name not in CLAIMS:
        fn = getattr(losses, name.rpartition(".")[2])
        args = (fnp.ones((3, 4)), fnp.ones((3, 4)) * 0.25)
        assert fn(*args).shape == () and fn(*args, reduction="none").shape != ()
        return
    assert name in CLAIMS, f"add a check that the difference claimed for {name} is real"
    assert CLAIMS[name]()
