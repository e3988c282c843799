"""A small TensorFlow 1.x on funcgrad's core: declare a graph first, run it in a Session.

Building a graph computes nothing: ``placeholder``, ``Variable`` and every operation return a
``Node`` (op name, input nodes, static attributes). ``gradients(ys, xs)`` adds the gradient
graph, symbolically: reverse-mode over the nodes, one rule per op that builds more nodes
(funcgrad's autodiff is not used). ``cond`` and ``while_loop`` are nodes that hold sub-graphs
(traced from Python functions, with the outer nodes they read captured as inputs, as in TF's
``cond_v2``). ``Session.run(fetches, feed_dict)`` compiles the part of the graph the fetches
need into one function with ``fg.jit`` (once per fetches and fed placeholders), runs it, and
stores what ``assign`` nodes wrote into the session's variables.

Usage, as in TF1::

    import tf1_graph as tf
    x = tf.placeholder(np.float32, name="x")
    y = tf.exp(x) * 2.0
    with tf.Session() as sess:
        print(sess.run(y, feed_dict={x: 1.0}))
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax

# ---- graphs and nodes -------------------------------------------------------------------


class Graph:
    """Every node in creation order (a node's id is its index) and the variables."""

    def __init__(self):
        self.nodes: list[Node] = []
        self.variables: list[Node] = []

    @contextlib.contextmanager
    def as_default(self):
        _graphs.append(self)
        try:
            yield self
        finally:
            _graphs.pop()


_graphs = [Graph()]


def get_default_graph() -> Graph:
    return _graphs[-1]


class Node:
    """One operation of the graph. Its value exists only inside ``Session.run``."""

    def __init__(self, op: str, inputs=(), name: str | None = None, **attrs):
        graph = get_default_graph()
        self.op, self.inputs, self.attrs = op, tuple(inputs), attrs
        self.id = len(graph.nodes)
        self.name = name or f"{op}_{self.id}"
        graph.nodes.append(self)

    def __repr__(self):
        return f"<Node {self.name!r} op={self.op} inputs={[i.name for i in self.inputs]}>"

    def __bool__(self):
        raise TypeError(
            f"Using the graph node {self.name!r} as a Python bool is not allowed: its value "
            "does not exist until Session.run. Use tf.cond or tf.while_loop."
        )

    __add__ = lambda a, b: add(a, b)
    __radd__ = lambda a, b: add(b, a)
    __sub__ = lambda a, b: subtract(a, b)
    __rsub__ = lambda a, b: subtract(b, a)
    __mul__ = lambda a, b: multiply(a, b)
    __rmul__ = lambda a, b: multiply(b, a)
    __truediv__ = lambda a, b: divide(a, b)
    __rtruediv__ = lambda a, b: divide(b, a)
    __matmul__ = lambda a, b: matmul(a, b)
    __neg__ = lambda a: negative(a)
    __gt__ = lambda a, b: greater(a, b)


def _node(x) -> Node:
    return x if isinstance(x, Node) else constant(x)


# ---- the operations (each a node constructor; the rules are in the tables below) --------


def placeholder(dtype=np.float32, shape=None, name: str | None = None) -> Node:
    return Node("Placeholder", name=name, dtype=np.dtype(dtype), shape=shape)


def Variable(initial_value, name: str | None = None) -> Node:  # noqa: N802 (TF's name)
    var = Node("Variable", name=name, initial_value=np.asarray(initial_value))
    get_default_graph().variables.append(var)
    return var


def constant(value, dtype=None) -> Node:
    value = np.asarray(value, dtype=dtype or (np.float32 if isinstance(value, float) else None))
    return Node("Const", value=value)


def _unary(op):
    return lambda x, name=None: Node(op, (_node(x),), name=name)


def _binary(op):
    return lambda a, b, name=None: Node(op, (_node(a), _node(b)), name=name)


add, subtract, multiply, divide = map(_binary, ("Add", "Sub", "Mul", "Div"))
matmul, greater = _binary("MatMul"), _binary("Greater")
negative, exp, log, sqrt, square = map(_unary, ("Neg", "Exp", "Log", "Sqrt", "Square"))
relu, transpose, softmax = map(_unary, ("Relu", "Transpose", "Softmax"))
reduce_sum, reduce_mean = _unary("Sum"), _unary("Mean")  # over all axes
ones_like, zeros_like, size = map(_unary, ("OnesLike", "ZerosLike", "Size"))
gather = _binary("Gather")  # params[index] along the first axis, index a scalar node


def add_n(xs) -> Node:
    total = _node(xs[0])
    for x in xs[1:]:
        total = add(total, x)
    return total


def argmax(x, axis: int = -1) -> Node:
    return Node("ArgMax", (_node(x),), axis=axis)


def one_hot(indices, depth: int) -> Node:
    return Node("OneHot", (_node(indices),), depth=depth)


def softmax_cross_entropy_with_logits(labels, logits, name=None) -> Node:
    """Per-example loss, one fused op with its own gradient rule (as in TF)."""
    return Node("SoftmaxXent", (_node(labels), _node(logits)), name=name)


def assign(var: Node, value) -> Node:
    """Writes ``value`` into ``var`` when run (every read in the same run sees the old value)."""
    if var.op != "Variable":
        raise TypeError(f"assign: {var.name!r} is not a Variable")
    return Node("Assign", (_node(value),), variable=var)


def assign_sub(var: Node, delta) -> Node:
    return assign(var, subtract(var, delta))


def group(*deps: Node) -> Node:
    """A node with no value that runs all of ``deps`` (a train op)."""
    return Node("NoOp", deps)


def global_variables_initializer() -> Node:
    graph = get_default_graph()
    return group(*[assign(v, constant(v.attrs["initial_value"])) for v in graph.variables])


# ---- control flow: nodes holding sub-graphs ------------------------------------------------


class SubGraph(NamedTuple):
    """A traced Python function: its parameter nodes, output nodes, and the outer nodes it
    reads (``captures``); ``fn`` is kept so gradients can trace it again."""

    params: tuple[Node, ...]
    outputs: tuple[Node, ...]
    captures: tuple[Node, ...]
    fn: Callable


def _as_tuple(x) -> tuple:
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _unique(nodes) -> tuple[Node, ...]:
    return tuple(dict.fromkeys(nodes))


def _trace(fn: Callable, n_params: int) -> SubGraph:
    graph = get_default_graph()
    start = len(graph.nodes)
    params = tuple(Node("Param", index=i) for i in range(n_params))
    outputs = tuple(_node(o) for o in _as_tuple(fn(*params)))
    inner = graph.nodes[start:]
    read = [i for n in inner for i in n.inputs] + list(outputs)
    return SubGraph(params, outputs, _unique(n for n in read if n.id < start), fn)


def cond(pred, true_fn: Callable[[], Node], false_fn: Callable[[], Node], name=None) -> Node:
    """``true_fn()`` if ``pred`` else ``false_fn()``, decided at run time; both branches are
    built now (each returns one node)."""
    true_g, false_g = _trace(true_fn, 0), _trace(false_fn, 0)
    captures = _unique(true_g.captures + false_g.captures)
    return Node(
        "Cond", (_node(pred), *captures), name=name, branches=(true_g, false_g), captures=captures
    )


def while_loop(cond_fn: Callable, body_fn: Callable, loop_vars, name=None) -> list[Node]:
    """Runs ``loop_vars = body_fn(*loop_vars)`` while ``cond_fn(*loop_vars)``."""
    loop_vars = [_node(v) for v in loop_vars]
    cond_g, body_g = _trace(cond_fn, len(loop_vars)), _trace(body_fn, len(loop_vars))
    captures = _unique(cond_g.captures + body_g.captures)
    loop = Node(
        "While", (*loop_vars, *captures), name=name, cond=cond_g, body=body_g, captures=captures
    )
    return [Node("TupleGet", (loop,), index=i) for i in range(len(loop_vars))]


# ---- evaluation: one rule per op, and one loop over the nodes ------------------------------


def _missing(message: str):
    def rule(**attrs):
        raise ValueError(message)

    return rule


def _unbroadcast(g, x):
    """``g`` summed over the axes that broadcasting added or stretched to reach ``x``."""
    while g.ndim > x.ndim:
        g = fnp.sum(g, axis=0)
    for axis, n in enumerate(x.shape):
        if n == 1 and g.shape[axis] != 1:
            g = fnp.sum(g, axis=axis, keepdims=True)
    return g


def _xent(labels, logits):
    shifted = logits - fnp.max(logits, axis=-1, keepdims=True)
    log_sum = fnp.log(fnp.sum(fnp.exp(shifted), axis=-1, keepdims=True))
    return fnp.sum(labels * (log_sum - shifted), axis=-1)


def _softmax(x):
    e = fnp.exp(x - fnp.max(x, axis=-1, keepdims=True))
    return e / fnp.sum(e, axis=-1, keepdims=True)


eval_rules: dict[str, Callable] = {
    "Placeholder": _missing("You must feed a value for a placeholder"),
    "Variable": _missing("Attempting to use an uninitialised variable"),
    "Param": _missing("A sub-graph parameter read outside its sub-graph"),
    "Const": lambda value: fnp.asarray(value),
    "Add": lambda a, b: a + b,
    "Sub": lambda a, b: a - b,
    "Mul": lambda a, b: a * b,
    "Div": lambda a, b: a / b,
    "Neg": lambda x: -x,
    "MatMul": lambda a, b: a @ b,
    "Transpose": lambda x: x.T,
    "Greater": lambda a, b: a > b,
    "Exp": fnp.exp,
    "Log": fnp.log,
    "Sqrt": fnp.sqrt,
    "Square": lambda x: x * x,
    "Relu": lambda x: fnp.maximum(x, 0.0),
    "ReluGrad": lambda g, x: fnp.where(x > 0, g, 0.0),
    "Softmax": _softmax,
    "SoftmaxXent": _xent,
    "Sum": fnp.sum,
    "Mean": fnp.mean,
    "OnesLike": fnp.ones_like,
    "ZerosLike": fnp.zeros_like,
    "Size": lambda x: fnp.asarray(x.size, dtype=np.float32),
    "BroadcastLike": lambda g, x: fnp.broadcast_to(g, x.shape),
    "SumLike": _unbroadcast,
    "ExpandDims": lambda x, axis: fnp.expand_dims(x, axis),
    "ArgMax": lambda x, axis: fnp.argmax(x, axis=axis),
    "OneHot": lambda i, depth: (i[..., None] == fnp.arange(depth)).astype(np.float32),
    "Gather": lambda params, i: params[i],
    "Assign": lambda value, variable: value,
    "NoOp": lambda *deps: (),
    "TupleGet": lambda values, index: values[index],
}


def _topological(outputs, done=()) -> list[Node]:
    """The nodes ``outputs`` need, each after its inputs, skipping those in ``done``."""
    order, seen, stack = [], set(done), [(o, False) for o in reversed(outputs)]
    while stack:
        node, ready = stack.pop()
        if ready:
            order.append(node)
        elif node not in seen:
            seen.add(node)
            stack.append((node, True))
            stack.extend((i, False) for i in reversed(node.inputs) if i not in seen)
    return order


def evaluate(outputs, env: dict) -> list:
    """The values of ``outputs`` given the values in ``env`` (fed placeholders, variables,
    sub-graph parameters): the one loop every run goes through."""
    env = dict(env)
    for node in _topological(outputs, done=env):
        env[node] = eval_rules[node.op](*(env[i] for i in node.inputs), **node.attrs)
    return [env[o] for o in outputs]


def _run_subgraph(sub: SubGraph, args, captures, capture_values) -> list:
    return evaluate(
        sub.outputs, {**dict(zip(captures, capture_values)), **dict(zip(sub.params, args))}
    )


def _cond_eval(pred, *values, branches, captures):
    true_g, false_g = branches
    run = lambda sub: lambda vals: _run_subgraph(sub, (), captures, vals)[0]
    return lax.cond(pred, run(true_g), run(false_g), values)


def _while_eval(*values, cond, body, captures):
    n = len(body.params)
    init, capture_values = tuple(values[:n]), values[n:]
    keep_going = lambda carry: _run_subgraph(cond, carry, captures, capture_values)[0]
    step = lambda carry: tuple(_run_subgraph(body, carry, captures, capture_values))
    return lax.while_loop(keep_going, step, init)


eval_rules["Cond"] = _cond_eval
eval_rules["While"] = _while_eval


# ---- the gradient graph: one rule per op, building nodes ---------------------------------


def _sum_like(g, x):
    return Node("SumLike", (g, x))


def _broadcast_like(g, x):
    return Node("BroadcastLike", (g, x))


def _xent_grad(node, g, wanted):
    labels, logits = node.inputs
    g_col = Node("ExpandDims", (g,), axis=-1)
    return [None, g_col * (softmax(logits) - labels)]


def _cond_grad(node, g, wanted):
    """The gradient of a cond is a cond of the branches' gradients (traced again)."""
    pred, captures = node.inputs[0], node.inputs[1:]
    true_g, false_g = node.attrs["branches"]
    return [None] + [
        cond(pred, _branch_grad(true_g.fn, x, g), _branch_grad(false_g.fn, x, g)) if w else None
        for x, w in zip(captures, wanted[1:])
    ]


def _branch_grad(fn, x: Node, g: Node):
    def grad_branch():
        (dx,) = gradients(_as_tuple(fn())[0], [x], grad_ys=g)
        return zeros_like(x) if dx is None else dx

    return grad_branch


_NOT_DIFFERENTIABLE = ("Greater", "ArgMax", "OneHot", "Size", "OnesLike", "ZerosLike")

grad_rules: dict[str, Callable] = {
    "Add": lambda n, g, _: [_sum_like(g, n.inputs[0]), _sum_like(g, n.inputs[1])],
    "Sub": lambda n, g, _: [_sum_like(g, n.inputs[0]), _sum_like(-g, n.inputs[1])],
    "Mul": lambda n, g, _: [
        _sum_like(g * n.inputs[1], n.inputs[0]),
        _sum_like(g * n.inputs[0], n.inputs[1]),
    ],
    "Div": lambda n, g, _: [
        _sum_like(g / n.inputs[1], n.inputs[0]),
        _sum_like(-g * n.inputs[0] / square(n.inputs[1]), n.inputs[1]),
    ],
    "Neg": lambda n, g, _: [-g],
    "MatMul": lambda n, g, _: [
        matmul(g, transpose(n.inputs[1])),
        matmul(transpose(n.inputs[0]), g),
    ],
    "Transpose": lambda n, g, _: [transpose(g)],
    "Exp": lambda n, g, _: [g * n],
    "Log": lambda n, g, _: [g / n.inputs[0]],
    "Sqrt": lambda n, g, _: [g / (2.0 * n)],
    "Square": lambda n, g, _: [g * (2.0 * n.inputs[0])],
    "Relu": lambda n, g, _: [Node("ReluGrad", (g, n))],
    "Sum": lambda n, g, _: [_broadcast_like(g, n.inputs[0])],
    "Mean": lambda n, g, _: [_broadcast_like(g / size(n.inputs[0]), n.inputs[0])],
    "SoftmaxXent": _xent_grad,
    "Cond": _cond_grad,
    **{op: (lambda n, g, _: [None] * len(n.inputs)) for op in _NOT_DIFFERENTIABLE},
}


def _between(ys, xs) -> tuple[list[Node], set[Node]]:
    """The nodes ``ys`` need, in order, and those of them that depend on some x."""
    order = _topological(ys)
    between = set(xs) & set(order)
    for node in order:
        if any(i in between for i in node.inputs):
            between.add(node)
    return order, between


def gradients(ys, xs, grad_ys=None) -> list[Node | None]:
    """Nodes for d(sum ys)/d(x) for each x in ``xs`` (None where an x does not reach ys),
    built by reverse-mode over the graph: consumers before producers."""
    ys, xs = list(_as_tuple(ys)), list(_as_tuple(xs))
    grad_ys = [ones_like(y) for y in ys] if grad_ys is None else list(_as_tuple(grad_ys))
    order, between = _between(ys, xs)
    pending: dict[Node, list[Node]] = {}
    for y, gy in zip(ys, grad_ys):
        pending.setdefault(y, []).append(_node(gy))
    total: dict[Node, Node] = {}
    for node in reversed(order):
        if node not in between or node not in pending:
            continue
        g = total[node] = add_n(pending.pop(node))
        wanted = tuple(i in between for i in node.inputs)
        if not any(wanted):
            continue
        if node.op not in grad_rules:
            raise LookupError(f"No gradient defined for operation {node.name!r} (op {node.op})")
        for inp, w, gi in zip(node.inputs, wanted, grad_rules[node.op](node, g, wanted)):
            if w and gi is not None:
                pending.setdefault(inp, []).append(gi)
    return [total.get(x) for x in xs]


# ---- the session: compile once per (fetches, fed placeholders), keep the variables ------


class Session:
    """Runs parts of a graph; owns the variables' values between runs."""

    def __init__(self, graph: Graph | None = None):
        self.graph = graph or get_default_graph()
        self.values: dict[Node, object] = {}
        self._compiled: dict[tuple, tuple] = {}
        self.traces = 0  # how many times a fetched sub-graph was traced and compiled

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._compiled.clear()

    def run(self, fetches, feed_dict=None):
        """The values of ``fetches`` (a node or a list), numpy arrays (None for a group)."""
        fetch_list = list(_as_tuple(fetches))
        feed_dict = feed_dict or {}
        feeds = tuple(sorted(feed_dict, key=lambda n: n.id))
        key = (tuple(fetch_list), feeds)
        if key not in self._compiled:
            self._compiled[key] = self._compile(fetch_list, feeds)
        step, variables, assigns = self._compiled[key]
        self._check_initialised(variables)
        feed_values = [_feed_value(node, feed_dict[node]) for node in feeds]
        out, written = step(feed_values, [self.values[v] for v in variables])
        self.values.update((a.attrs["variable"], w) for a, w in zip(assigns, written))
        out = [None if f.op == "NoOp" else np.asarray(o) for f, o in zip(fetch_list, out)]
        return out if isinstance(fetches, (list, tuple)) else out[0]

    def _compile(self, fetches, feeds):
        nodes = _topological(fetches)
        unfed = [n.name for n in nodes if n.op == "Placeholder" and n not in feeds]
        if unfed:
            raise ValueError(f"You must feed a value for the placeholders {unfed}")
        variables = [n for n in nodes if n.op == "Variable"]
        assigns = [n for n in nodes if n.op == "Assign"]

        def step(feed_values, variable_values):
            self.traces += 1  # runs only while fg.jit traces
            env = {**dict(zip(feeds, feed_values)), **dict(zip(variables, variable_values))}
            values = evaluate(fetches + assigns, env)
            return values[: len(fetches)], values[len(fetches) :]

        return fg.jit(step), variables, assigns

    def _check_initialised(self, variables):
        missing = [v.name for v in variables if v not in self.values]
        if missing:
            raise ValueError(
                f"Attempting to use uninitialised variables {missing}: run "
                "tf.global_variables_initializer() first"
            )


def _feed_value(node: Node, value):
    if node.op != "Placeholder":
        raise TypeError(f"can only feed placeholders, not {node.name!r} (op {node.op})")
    return fnp.asarray(np.asarray(value, dtype=node.attrs["dtype"]))
