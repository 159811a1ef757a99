"""From-scratch linear regression and softmax regression, written the D2L way, in both dialects.

Each program follows the book's code (sections "Linear Regression Implementation from Scratch" and
"Softmax Regression Implementation from Scratch"): synthetic data, parameters that require grad (or
carry ``attach_grad``), minibatches from shuffled indices, ``loss(net(X), y)``, backward, and a
hand-written minibatch SGD. Only the sizes are small (1000 examples, a few epochs) so that the
suite stays fast; each must converge.
"""
import random

import numpy
import pytest

import tapegrad.torch as torch
from tapegrad import autograd, np, npx

NUM_EXAMPLES = 1000


@pytest.fixture(autouse=True)
def _seeds():
    random.seed(0)
    torch.manual_seed(0)
    np.random.seed(0)
    npx.set_np()


def _blobs(n, seed=0):
    """Three well-separated 2-D Gaussian blobs: features (n, 2) and labels in {0, 1, 2}."""
    rng = numpy.random.default_rng(seed)
    centers = numpy.array([[0.0, 3.0], [3.0, -2.0], [-3.0, -2.0]])
    labels = rng.integers(0, 3, size=n)
    features = centers[labels] + rng.normal(0, 0.7, size=(n, 2))
    return features.astype(numpy.float32), labels


# --- the PyTorch dialect ----------------------------------------------------------------------


def torch_synthetic_data(w, b, num_examples):
    """Generate y = Xw + b + noise."""
    X = torch.normal(0, 1, (num_examples, len(w)))
    y = torch.matmul(X, w) + b
    y += torch.normal(0, 0.01, y.shape)
    return X, y.reshape((-1, 1))


def torch_data_iter(batch_size, features, labels):
    num_examples = len(features)
    indices = list(range(num_examples))
    # The examples are read at random, in no particular order
    random.shuffle(indices)
    for i in range(0, num_examples, batch_size):
        batch_indices = torch.tensor(indices[i: min(i + batch_size, num_examples)])
        yield features[batch_indices], labels[batch_indices]


def torch_sgd(params, lr, batch_size):
    """Minibatch stochastic gradient descent."""
    with torch.no_grad():
        for param in params:
            param -= lr * param.grad / batch_size
            param.grad.zero_()


def test_linear_regression_from_scratch_pytorch():
    true_w = torch.tensor([2, -3.4])
    true_b = 4.2
    features, labels = torch_synthetic_data(true_w, true_b, NUM_EXAMPLES)
    assert features.shape == (NUM_EXAMPLES, 2) and labels.shape == (NUM_EXAMPLES, 1)

    w = torch.normal(0, 0.01, size=(2, 1), requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    w_obj, b_obj = w, b

    def linreg(X, w, b):
        """The linear regression model."""
        return torch.matmul(X, w) + b

    def squared_loss(y_hat, y):
        """Squared loss."""
        return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2

    lr, num_epochs, batch_size = 0.03, 3, 10
    net, loss = linreg, squared_loss
    losses = []
    for epoch in range(num_epochs):
        for X, y in torch_data_iter(batch_size, features, labels):
            l = loss(net(X, w, b), y)  # noqa: E741 - the book's name
            # Compute gradient on l with respect to [w, b]
            l.sum().backward()
            torch_sgd([w, b], lr, batch_size)  # Update parameters using their gradient
        with torch.no_grad():
            train_l = loss(net(features, w, b), labels)
            losses.append(float(train_l.mean()))
            assert train_l.grad_fn is None

    assert w is w_obj and b is b_obj and w.is_leaf and w.requires_grad
    assert w.grad is not None and float(w.grad.abs().max()) == 0  # zeroed in place by sgd
    assert losses[-1] < 1e-3 and losses[0] > losses[-1]
    assert float((true_w - w.reshape(true_w.shape)).abs().max()) < 0.05
    assert abs(true_b - float(b)) < 0.05


def test_softmax_regression_from_scratch_pytorch():
    x_np, y_np = _blobs(NUM_EXAMPLES)
    features, labels = torch.tensor(x_np), torch.tensor(y_np)
    assert labels.dtype == torch.int64
    num_inputs, num_outputs = 2, 3

    W = torch.normal(0, 0.01, size=(num_inputs, num_outputs), requires_grad=True)
    b = torch.zeros(num_outputs, requires_grad=True)

    def softmax(X):
        X_exp = torch.exp(X)
        partition = X_exp.sum(1, keepdim=True)
        return X_exp / partition  # The broadcasting mechanism is applied here

    def net(X):
        return softmax(torch.matmul(X.reshape((-1, W.shape[0])), W) + b)

    def cross_entropy(y_hat, y):
        return - torch.log(y_hat[range(len(y_hat)), y])

    def accuracy(y_hat, y):
        """Compute the number of correct predictions."""
        if len(y_hat.shape) > 1 and y_hat.shape[1] > 1:
            y_hat = y_hat.argmax(axis=1)
        cmp = y_hat.type(y.dtype) == y
        return float(cmp.type(y.dtype).sum())

    # the book's worked example of picking probabilities by label
    y = torch.tensor([0, 2])
    y_hat = torch.tensor([[0.1, 0.3, 0.6], [0.3, 0.2, 0.5]])
    assert y_hat[[0, 1], y].tolist() == pytest.approx([0.1, 0.5])
    assert accuracy(y_hat, y) / len(y) == 0.5

    lr, num_epochs, batch_size = 0.1, 3, 32
    for epoch in range(num_epochs):
        for X, y in torch_data_iter(batch_size, features, labels):
            y_hat = net(X)
            l = cross_entropy(y_hat, y)  # noqa: E741
            l.sum().backward()
            torch_sgd([W, b], lr, batch_size)
    with torch.no_grad():
        y_hat = net(features)
        train_loss = float(cross_entropy(y_hat, labels).mean())
        train_acc = accuracy(y_hat, labels) / len(labels)
    assert train_acc > 0.9
    assert train_loss < 0.3


def test_softmax_regression_with_nn_and_optim_pytorch():
    """The same model with the dialect's nn.CrossEntropyLoss and optim.SGD (the concise chapter's tools)."""
    from tapegrad.torch import nn, optim  # noqa: PLC0415 - the subpackages, wired into torch or not
    x_np, y_np = _blobs(NUM_EXAMPLES, seed=1)
    features, labels = torch.tensor(x_np), torch.tensor(y_np)
    net = nn.Sequential(nn.Flatten(), nn.Linear(2, 3))
    loss = nn.CrossEntropyLoss(reduction="none")
    trainer = optim.SGD(net.parameters(), lr=0.1)
    for epoch in range(3):
        net.train()
        for X, y in torch_data_iter(32, features, labels):
            l = loss(net(X), y)  # noqa: E741
            trainer.zero_grad()
            l.mean().backward()
            trainer.step()
    net.eval()
    with torch.no_grad():
        acc = float((net(features).argmax(axis=1) == labels).float().mean())
    assert acc > 0.9


# --- the MXNet dialect ------------------------------------------------------------------------


def mx_synthetic_data(w, b, num_examples):
    """Generate y = Xw + b + noise."""
    X = np.random.normal(0, 1, (num_examples, len(w)))
    y = np.dot(X, w) + b
    y += np.random.normal(0, 0.01, y.shape)
    return X, y.reshape((-1, 1))


def mx_data_iter(batch_size, features, labels):
    num_examples = len(features)
    indices = list(range(num_examples))
    random.shuffle(indices)
    for i in range(0, num_examples, batch_size):
        # as in the book: np.array makes these float32, and MXNet (and tapegrad) index with them
        batch_indices = np.array(indices[i: min(i + batch_size, num_examples)])
        yield features[batch_indices], labels[batch_indices]


def mx_sgd(params, lr, batch_size):
    """Minibatch stochastic gradient descent."""
    for param in params:
        param[:] = param - lr * param.grad / batch_size


def test_linear_regression_from_scratch_mxnet():
    true_w = np.array([2, -3.4])
    true_b = 4.2
    features, labels = mx_synthetic_data(true_w, true_b, NUM_EXAMPLES)
    assert features.dtype == numpy.float32 and labels.shape == (NUM_EXAMPLES, 1)

    w = np.random.normal(0, 0.01, (2, 1))
    b = np.zeros(1)
    w.attach_grad()
    b.attach_grad()
    w_buf = w._data

    def linreg(X, w, b):
        return np.dot(X, w) + b

    def squared_loss(y_hat, y):
        return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2

    lr, num_epochs, batch_size = 0.03, 3, 10
    net, loss = linreg, squared_loss
    losses = []
    for epoch in range(num_epochs):
        for X, y in mx_data_iter(batch_size, features, labels):
            with autograd.record():
                l = loss(net(X, w, b), y)  # noqa: E741 - minibatch loss in X and y
            # Because l has a shape of (batch_size, 1) and is not a scalar variable, the elements in l are
            # added together to obtain a new variable, on which gradients with respect to [w, b] are computed
            l.backward()
            mx_sgd([w, b], lr, batch_size)  # Update parameters using their gradient
        train_l = loss(net(features, w, b), labels)
        losses.append(float(train_l.mean()))

    assert w._data is w_buf  # param[:] = ... writes into the same buffer
    assert losses[-1] < 1e-3 and losses[0] > losses[-1]
    assert float(np.abs(true_w - w.reshape(true_w.shape)).max()) < 0.05
    assert abs(true_b - float(b)) < 0.05


def test_softmax_regression_from_scratch_mxnet():
    x_np, y_np = _blobs(NUM_EXAMPLES)
    features, labels = np.array(x_np), np.array(y_np, dtype=np.int32)
    num_inputs, num_outputs = 2, 3

    W = np.random.normal(0, 0.01, (num_inputs, num_outputs))
    b = np.zeros(num_outputs)
    W.attach_grad()
    b.attach_grad()

    def softmax(X):
        X_exp = np.exp(X)
        partition = X_exp.sum(1, keepdims=True)
        return X_exp / partition  # The broadcasting mechanism is applied here

    def net(X):
        return softmax(np.dot(X.reshape((-1, W.shape[0])), W) + b)

    def cross_entropy(y_hat, y):
        return - np.log(y_hat[range(len(y_hat)), y])

    def cross_entropy_pick(y_hat, y):
        return - np.log(npx.pick(y_hat, y))

    def accuracy(y_hat, y):
        """Compute the number of correct predictions."""
        if len(y_hat.shape) > 1 and y_hat.shape[1] > 1:
            y_hat = y_hat.argmax(axis=1)
        cmp = y_hat.astype(y.dtype) == y
        return float(cmp.astype(y.dtype).sum())

    lr, num_epochs, batch_size = 0.1, 3, 32
    for epoch in range(num_epochs):
        for i, (X, y) in enumerate(mx_data_iter(batch_size, features, labels)):
            with autograd.record():
                y_hat = net(X)
                l = cross_entropy(y_hat, y) if i % 2 else cross_entropy_pick(y_hat, y)  # noqa: E741
            l.backward()
            mx_sgd([W, b], lr, batch_size)
    y_hat = net(features)
    numpy.testing.assert_allclose(cross_entropy(y_hat, labels).asnumpy(), cross_entropy_pick(y_hat, labels).asnumpy())
    train_loss = float(cross_entropy(y_hat, labels).mean())
    train_acc = accuracy(y_hat, labels) / len(labels)
    assert train_acc > 0.9
    assert train_loss < 0.3


def test_mxnet_float_index_arrays():
    """np.array of Python ints is float32 in MXNet, and MXNet indexes with it (D2L's data_iter does)."""
    y = np.array([0, 2])
    y_hat = np.array([[0.1, 0.3, 0.6], [0.3, 0.2, 0.5]])
    assert y.dtype == numpy.float32
    numpy.testing.assert_allclose(y_hat[[0, 1], y].asnumpy(), [0.1, 0.5])
    numpy.testing.assert_allclose(y_hat[np.array([1, 0])].asnumpy(), y_hat.asnumpy()[::-1])


def test_both_dialects_in_one_process_keep_their_semantics():
    """MXNet arrays record only inside autograd.record(); torch tensors whenever they require grad."""
    x = np.array([1.0, 2.0])
    x.attach_grad()
    assert (x * 2)._node is None  # not recording outside record()
    t = torch.tensor([1.0, 2.0], requires_grad=True)
    assert (t * 2).grad_fn is not None
    with autograd.record():
        y = (x * x).sum()
        s = (t * t).sum()
    y.backward()
    s.backward()
    numpy.testing.assert_allclose(x.grad.asnumpy(), [2.0, 4.0])
    numpy.testing.assert_allclose(t.grad.numpy(), [2.0, 4.0])



def test_where_keeps_an_infinite_cotangent_out_of_the_branch_not_taken():
    """where's VJP gave the branch not taken g * 0, which is NaN where the cotangent g is infinite."""
    import numpy
    import tapegrad
    import tapegrad.numpy as tnp
    v = tapegrad.elementwise_grad(lambda y: tnp.where(y > 0, y, 0.0) * numpy.inf)(numpy.array([-1.0, 1.0]))
    assert v[0] == 0.0 and numpy.isposinf(v[1])
    w = tapegrad.elementwise_grad(lambda y: tnp.where(y > 0, 0.0, y) * numpy.inf)(numpy.array([-1.0, 1.0]))
    assert numpy.isposinf(w[0]) and w[1] == 0.0
