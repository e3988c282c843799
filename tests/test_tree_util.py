"""funcgrad.tree_util: flatten/unflatten, maps, key paths, registration, fg.tree aliases."""

from __future__ import annotations

import dataclasses
from collections import namedtuple

import pytest

import funcgrad as fg
from funcgrad import tree_util as tu

Point = namedtuple("Point", "x y")


@tu.register_dataclass
@dataclasses.dataclass(frozen=True)
class Layer:
    w: object
    b: object
    name: str = dataclasses.field(default="layer", metadata={"static": True})


class Box:
    def __init__(self, a, b, tag):
        self.a, self.b, self.tag = a, b, tag

    def __eq__(self, other):
        return isinstance(other, Box) and (self.a, self.b, self.tag) == (
            other.a,
            other.b,
            other.tag,
        )


tu.register_pytree_node(
    Box, lambda bx: ((bx.a, bx.b), bx.tag), lambda tag, ch: Box(ch[0], ch[1], tag)
)

TREES = [
    # (tree, leaves)
    (1, [1]),
    ((), []),
    ([], []),
    ({}, []),
    (None, []),
    ((1, 2), [1, 2]),
    ([1, [2, (3,)]], [1, 2, 3]),
    ({"b": 2, "a": 1, "c": [3]}, [1, 2, 3]),  # dict keys sorted
    (Point(1, (2, 3)), [1, 2, 3]),
    ({"p": None, "q": 4}, [4]),
    (Layer(1, [2, 3]), [1, 2, 3]),
    (Box(1, {"z": 2}, "t"), [1, 2]),
    ([None, (None,), 5], [5]),
]


@pytest.mark.parametrize("tree,leaves", TREES, ids=[str(i) for i in range(len(TREES))])
def test_flatten_unflatten_roundtrip(tree, leaves):
    ls, td = tu.tree_flatten(tree)
    assert ls == leaves
    assert td.num_leaves == len(leaves)
    back = tu.tree_unflatten(td, ls)
    assert back == tree and type(back) is type(tree)
    assert tu.tree_leaves(tree) == leaves
    assert tu.tree_structure(tree) == td
    assert hash(td) == hash(tu.tree_structure(tree))


def test_structures_compare_by_type_and_keys():
    assert tu.tree_structure((1, 2)) != tu.tree_structure([1, 2])
    assert tu.tree_structure({"a": 1}) != tu.tree_structure({"b": 1})
    assert tu.tree_structure(Point(1, 2)) != tu.tree_structure((1, 2))
    assert tu.tree_structure(Layer(1, 2, "a")) != tu.tree_structure(Layer(1, 2, "b"))
    assert tu.tree_structure(Box(1, 2, "t")) == tu.tree_structure(Box(5, 6, "t"))
    assert (
        repr(tu.tree_structure({"a": (1, [2]), "b": None}))
        == "PyTreeDef({'a': (*, [*]), 'b': None})"
    )


def test_unflatten_wrong_leaf_count():
    with pytest.raises(ValueError, match=r"2 leaves.*3"):
        tu.tree_unflatten(tu.tree_structure((1, 2)), [1, 2, 3])


def test_tree_map_multiple_trees_and_none():
    out = tu.tree_map(lambda a, b: a + b, {"x": 1, "y": (2, 3)}, {"x": 10, "y": (20, 30)})
    assert out == {"x": 11, "y": (22, 33)}
    assert tu.tree_map(lambda a: a * 2, [1, None, Point(2, 3)]) == [2, None, Point(4, 6)]
    # the second tree may have subtrees where the first has leaves
    assert tu.tree_map(lambda a, b: (a, b), [1, 2], [(3, 4), {"k": 5}]) == [
        (1, (3, 4)),
        (2, {"k": 5}),
    ]
    with pytest.raises(ValueError, match=r"(?s)first:.*\{'x': \*\}.*second:.*\{'y': \*\}"):
        tu.tree_map(lambda a, b: a, {"x": 1}, {"y": 1})


def test_is_leaf():
    tree = {"a": (1, 2), "b": [3]}
    assert tu.tree_leaves(tree, is_leaf=lambda x: isinstance(x, tuple)) == [(1, 2), 3]
    assert tu.tree_map(len, tree, is_leaf=lambda x: isinstance(x, (tuple, list))) == {
        "a": 2,
        "b": 1,
    }


def test_key_paths():
    tree = {"w": [1, Point(2, 3)], "l": Layer(4, 5), "n": None, "bx": Box(6, 7, "t")}
    pairs, td = tu.tree_flatten_with_path(tree)
    strs = [tu.keystr(p) for p, _ in pairs]
    assert strs == [
        "['bx'][<flat index 0>]",
        "['bx'][<flat index 1>]",
        "['l'].w",
        "['l'].b",
        "['w'][0]",
        "['w'][1].x",
        "['w'][1].y",
    ]
    assert [v for _, v in pairs] == [6, 7, 4, 5, 1, 2, 3]
    assert td == tu.tree_structure(tree)
    assert pairs[2][0] == (tu.DictKey("l"), tu.GetAttrKey("w"))
    assert pairs[4][0] == (tu.DictKey("w"), tu.SequenceKey(0))
    assert [tu.keystr(p) for p, _ in tu.tree_leaves_with_path((1, {"a": 2}))] == ["[0]", "[1]['a']"]
    out = tu.tree_map_with_path(lambda p, v: tu.keystr(p) + str(v), {"a": [1], "b": 2})
    assert out == {"a": ["['a'][0]1"], "b": "['b']2"}


def test_register_pytree_with_keys():
    class Pair:
        def __init__(self, left, right):
            self.left, self.right = left, right

    tu.register_pytree_with_keys(
        Pair,
        lambda p: (((tu.GetAttrKey("left"), p.left), (tu.GetAttrKey("right"), p.right)), None),
        lambda _, ch: Pair(*ch),
    )
    pairs, td = tu.tree_flatten_with_path(Pair(1, [2]))
    assert [tu.keystr(p) for p, _ in pairs] == [".left", ".right[0]"]
    back = tu.tree_unflatten(td, [10, 20])
    assert (back.left, back.right) == (10, [20])


def test_register_twice_is_an_error():
    with pytest.raises(ValueError, match="already registered"):
        tu.register_pytree_node(Box, lambda b: ((), None), lambda a, c: None)


def test_register_dataclass_explicit_fields_and_static():
    @dataclasses.dataclass
    class Opt:
        lr: float
        step: int
        hyper: str

    tu.register_dataclass(Opt, data_fields=["lr", "step"], meta_fields=["hyper"])
    leaves, td = tu.tree_flatten(Opt(0.1, 3, "adam"))
    assert leaves == [0.1, 3]
    back = tu.tree_unflatten(td, [0.2, 4])
    assert (back.lr, back.step, back.hyper) == (0.2, 4, "adam")
    assert tu.tree_leaves(Layer(1, 2, "x")) == [1, 2]


def test_register_static():
    @tu.register_static
    class Cfg:
        def __init__(self, n):
            self.n = n

    c = Cfg(3)
    assert tu.tree_leaves([1, c]) == [1]
    assert tu.tree_unflatten(tu.tree_structure([1, c]), [5])[1] is c


def test_reduce_all_transpose_partial():
    assert tu.tree_reduce(lambda a, b: a + b, {"a": 1, "b": (2, 3)}) == 6
    assert tu.tree_reduce(lambda a, b: a + b, [], 10) == 10
    assert tu.tree_all([True, {"a": True}]) and not tu.tree_all([True, (False,)])
    outer = tu.tree_structure([0, 0])
    inner = tu.tree_structure({"a": 0, "b": 0})
    assert tu.tree_transpose(outer, inner, [{"a": 1, "b": 2}, {"a": 3, "b": 4}]) == {
        "a": [1, 3],
        "b": [2, 4],
    }
    p = tu.Partial(lambda x, y: x + y, 1)
    leaves, td = tu.tree_flatten(p)
    assert leaves == [1]
    assert tu.tree_unflatten(td, [10])(5) == 15
    assert tu.all_leaves([1, 2]) and not tu.all_leaves([(1,)])
    assert tu.treedef_is_leaf(tu.tree_structure(1))


def test_fg_tree_aliases():
    tree = {"a": 1, "b": [2, 3]}
    assert fg.tree.map(lambda x: x + 1, tree) == {"a": 2, "b": [3, 4]}
    assert fg.tree.leaves(tree) == [1, 2, 3]
    leaves, td = fg.tree.flatten(tree)
    assert fg.tree.unflatten(td, leaves) == tree
    assert fg.tree.structure(tree) == td
    assert fg.tree.reduce(max, tree) == 3
    assert fg.tree.all(tree)
    assert [fg.tree_util.keystr(p) for p, _ in fg.tree.leaves_with_path(tree)] == [
        "['a']",
        "['b'][0]",
        "['b'][1]",
    ]
    assert fg.tree.map_with_path(lambda p, x: len(p), tree) == {"a": 1, "b": [2, 2]}
    assert fg.tree.flatten_with_path(tree)[1] == td
    assert fg.tree.transpose(
        fg.tree.structure([0, 0]), fg.tree.structure((0, 0)), [(1, 2), (3, 4)]
    ) == ([1, 3], [2, 4])


def test_pytrees_through_transformations_keep_types():
    layer = Layer(fg.numpy.ones(2), fg.numpy.zeros(2), "dense")
    g = fg.grad(lambda m: fg.numpy.sum(m.w * 3.0 + m.b))(layer)
    assert isinstance(g, Layer) and g.name == "dense"
    box = fg.vmap(lambda b: Box(b.a * 2, b.b, b.tag))(Box(fg.numpy.ones(3), fg.numpy.ones(3), "t"))
    assert isinstance(box, Box) and box.tag == "t" and box.a.shape == (3,)
