"""Code written for HIPS autograd (``import autograd.numpy as np``) runs unchanged with
``import funcgrad.numpy as np`` and ``from funcgrad import grad``."""

import numpy as onp

import funcgrad.numpy as np
from funcgrad import grad, value_and_grad

# ---- autograd's README example, verbatim apart from the imports -------------------------------


def tanh(x):  # Define a function
    y = np.exp(-2.0 * x)
    return (1.0 - y) / (1.0 + y)


def test_readme_tanh_and_higher_derivatives():
    grad_tanh = grad(tanh)
    assert abs(float(grad_tanh(1.0)) - (tanh(1.0001) - tanh(0.9999)) / 0.0002) < 1e-3
    d2 = grad(grad(tanh))(1.0)
    assert abs(float(d2) - (-2 * onp.tanh(1.0) * (1 - onp.tanh(1.0) ** 2))) < 1e-4
    assert abs(float(grad(grad(grad(tanh)))(0.5)) - float(grad(grad(grad(np.tanh)))(0.5))) < 1e-3


# ---- autograd's logistic-regression example ---------------------------------------------------


def sigmoid(x):
    return 0.5 * (np.tanh(x / 2.0) + 1)


def logistic_predictions(weights, inputs):
    # Outputs probability of a label being true according to logistic model.
    return sigmoid(np.dot(inputs, weights))


inputs = onp.array(
    [[0.52, 1.12, 0.77], [0.88, -1.08, 0.15], [0.52, 0.06, -1.30], [0.74, -2.49, 1.39]]
)
targets = onp.array([True, True, False, True])


def training_loss(weights):
    # Training loss is the negative log-likelihood of the training labels.
    preds = logistic_predictions(weights, inputs)
    label_probabilities = preds * targets + (1 - preds) * (1 - targets)
    return -np.sum(np.log(label_probabilities))


def test_logistic_regression_trains():
    training_gradient_fun = grad(training_loss)
    weights = np.array([0.0, 0.0, 0.0])
    start = float(training_loss(weights))
    assert abs(start - 4 * onp.log(2)) < 1e-5
    for _ in range(100):
        weights = weights - training_gradient_fun(weights) * 0.01
    assert float(training_loss(weights)) < start - 0.5
    # the gradient agrees with the closed form X^T (p - y)
    w = onp.array([0.3, -0.2, 0.1])
    p = 1 / (1 + onp.exp(-inputs @ w))
    onp.testing.assert_allclose(
        training_gradient_fun(w), inputs.T @ (p - targets), rtol=1e-4, atol=1e-5
    )


def test_numpy_style_helpers_and_value_and_grad():
    def loss(params, x, y):
        w, b = params
        pred = np.tanh(np.dot(x, w) + b)
        return np.mean((pred - y) ** 2) + 0.01 * np.sum(w**2)

    x = onp.random.default_rng(0).standard_normal((8, 3))
    y = onp.sign(x[:, 0])
    params = (np.zeros(3), 0.0)
    val, (gw, gb) = value_and_grad(loss)(params, x, y)
    assert val.shape == () and gw.shape == (3,) and onp.ndim(gb) == 0
    assert float(np.linalg.norm(gw)) > 0
