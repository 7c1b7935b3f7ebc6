"""Optimisers: the first two steps against their equations, in place, per parameter."""

import pickle
from copy import deepcopy

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import SETTINGS, floats64, matrix_shapes, read_only

from tinynet import optim
from tinynet.layers import Dense, ReLU, Softmax
from tinynet.losses import CrossEntropy
from tinynet.model import Sequential
from tinynet.optim import SGD, Adam, Optimizer, RMSprop


@st.composite
def problems(draw):
    """Two parameters of different shapes, each with two gradients (for steps 1 and 2)."""
    params, grads = [], []
    for _ in range(2):
        shape = draw(matrix_shapes(max_rows=3, max_cols=3))
        params.append(draw(floats64(shape)))
        grads.append([draw(floats64(shape)), draw(floats64(shape))])
    return params, grads


def run_two_steps(opt, params, grads):
    """Two steps of ``opt`` on copies of ``params``; returns the params after each step and
    checks that every update happened in place, and that no gradient was written into (a
    layer's grads stay what its backward computed; weight decay adds to a new array)."""
    live = [p.copy() for p in params]
    ids = [id(p) for p in live]
    kept = [[g.copy() for g in pair] for pair in grads]
    after = []
    for t in range(2):
        opt.step([(p, g[t]) for p, g in zip(live, grads, strict=True)])
        assert [id(p) for p in live] == ids
        after.append([p.copy() for p in live])
    for pair, copies in zip(grads, kept, strict=True):
        for g, copy in zip(pair, copies, strict=True):
            np.testing.assert_array_equal(g, copy)
    assert opt.iterations == 2
    return after


def assert_steps(after, expected):
    for t in range(2):
        for got, want in zip(after[t], expected[t], strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


lrs = st.floats(1e-4, 1.0)
rates = st.floats(0.0, 0.99)


@SETTINGS
@given(problems(), lrs, st.floats(0.0, 0.1))
def test_plain_sgd(problem, lr, weight_decay):
    params, grads = problem
    expected = [[], []]
    for p, (g1, g2) in zip(params, grads, strict=True):
        p1 = p - lr * (g1 + weight_decay * p)
        p2 = p1 - lr * (g2 + weight_decay * p1)
        expected[0].append(p1)
        expected[1].append(p2)
    after = run_two_steps(SGD(lr, weight_decay=weight_decay), params, grads)
    assert_steps(after, expected)


@pytest.mark.part("sgd-momentum")
@SETTINGS
@given(problems(), lrs, rates, st.booleans(), st.floats(0.0, 0.1))
def test_sgd_with_momentum(problem, lr, momentum, nesterov, weight_decay):
    params, grads = problem
    nesterov = nesterov and momentum > 0
    expected = [[], []]
    for p, (g1, g2) in zip(params, grads, strict=True):
        v = np.zeros_like(p)
        for t, g in enumerate((g1, g2)):
            g = g + weight_decay * p
            v = momentum * v - lr * g
            p = p + (momentum * v - lr * g if nesterov else v)
            expected[t].append(p)
    opt = SGD(lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay)
    assert_steps(run_two_steps(opt, params, grads), expected)


@pytest.mark.part("sgd-momentum")
def test_the_velocity_holds_the_step_so_a_new_learning_rate_scales_only_later_gradients():
    # v = momentum * v - lr * g holds steps, not gradients (PyTorch's v = momentum * v + g,
    # p -= lr * v, moves the same while lr stays): a learning rate set between steps, by a
    # schedule, scales the new gradient alone, and the velocity saved with a model is a step.
    p = np.zeros(1)
    opt = SGD(0.1, momentum=0.9)
    opt.step([(p, np.ones(1))])
    np.testing.assert_allclose(opt.get_state([p])[0]["velocity"], [-0.1])
    np.testing.assert_allclose(p, [-0.1])
    opt.lr = 0.01
    opt.step([(p, np.ones(1))])
    np.testing.assert_allclose(opt.get_state([p])[0]["velocity"], [0.9 * -0.1 - 0.01 * 1])
    np.testing.assert_allclose(p, [-0.1 + 0.9 * -0.1 - 0.01 * 1])


@SETTINGS
@given(problems(), lrs)
def test_momentum_zero_is_plain_sgd(problem, lr):
    params, grads = problem
    a = run_two_steps(SGD(lr, momentum=0.0), params, grads)
    b = run_two_steps(SGD(lr), params, grads)
    for t in range(2):
        for x, y in zip(a[t], b[t], strict=True):
            np.testing.assert_array_equal(x, y)


@pytest.mark.part("rmsprop")
@SETTINGS
@given(problems(), lrs, rates, st.floats(1e-8, 1e-3))
def test_rmsprop(problem, lr, rho, eps):
    params, grads = problem
    expected = [[], []]
    for p, (g1, g2) in zip(params, grads, strict=True):
        v = np.zeros_like(p)
        for t, g in enumerate((g1, g2)):
            v = rho * v + (1 - rho) * g**2
            p = p - lr * g / np.sqrt(v + eps)  # eps inside the root, as in Keras
            expected[t].append(p)
    assert_steps(run_two_steps(RMSprop(lr, rho=rho, eps=eps), params, grads), expected)


@pytest.mark.part("adam")
@SETTINGS
@given(problems(), lrs, rates, st.floats(0.5, 0.9999), st.floats(1e-8, 1e-3))
def test_adam_with_bias_correction(problem, lr, beta1, beta2, eps):
    params, grads = problem
    expected = [[], []]
    for p, (g1, g2) in zip(params, grads, strict=True):
        m, v = np.zeros_like(p), np.zeros_like(p)
        for t, g in enumerate((g1, g2), start=1):
            m = beta1 * m + (1 - beta1) * g
            v = beta2 * v + (1 - beta2) * g**2
            lr_t = lr * np.sqrt(1 - beta2**t) / (1 - beta1**t)
            p = p - lr_t * m / (np.sqrt(v) + eps)
            expected[t - 1].append(p)
    opt = Adam(lr, beta1=beta1, beta2=beta2, eps=eps)
    assert_steps(run_two_steps(opt, params, grads), expected)


@pytest.mark.part("adam")
def test_adam_first_step_moves_each_entry_by_about_lr():
    # With bias correction, step 1 is lr * g / (|g| + eps'), about lr * sign(g): without it,
    # the step would be lr * (1 - beta1) / sqrt(1 - beta2), about 3 lr.
    rng = np.random.default_rng(0)
    p, g = rng.standard_normal(50), rng.standard_normal(50)
    moved = p.copy()
    Adam(0.01).step([(moved, g)])
    np.testing.assert_allclose(moved - p, -0.01 * np.sign(g), rtol=1e-2)


def test_step_takes_its_pairs_from_an_iterator_as_from_a_list():
    # step reads the pairs twice, to check them all and then to update: an iterator (a
    # generator, zip) read once by the checks would leave nothing to update, and no
    # parameter would move although the step was counted.
    p, g = np.array([1.0, -2.0, 0.5]), np.array([0.5, -1.0, 2.0])
    opt = SGD(0.1)
    opt.step(pair for pair in [(p, g)])
    np.testing.assert_allclose(p, [1.0 - 0.05, -2.0 + 0.1, 0.5 - 0.2], rtol=1e-15)
    assert opt.iterations == 1


def test_update_gets_one_scratch_array_per_parameter_of_its_shape_and_dtype():
    # docs/optimizers.md: work is a scratch array of the parameter's shape and dtype, kept per
    # parameter. One allocated at every step, or in float64 for a float32 parameter, would
    # cost the memory and time the in-place updates are written to save (module docstring).
    class Recorder(Optimizer):
        def update(self, param, grad, state, work):
            seen.append(work)

    seen = []
    a, b = np.zeros((2, 3), np.float32), np.zeros(4)
    opt = Recorder(0.1)
    for _ in range(2):
        opt.step([(a, np.ones_like(a)), (b, np.ones_like(b))])
    work_a, work_b, again_a, again_b = seen
    assert again_a is work_a and again_b is work_b and work_a is not work_b
    assert (work_a.shape, work_a.dtype) == ((2, 3), np.float32)
    assert (work_b.shape, work_b.dtype) == ((4,), np.float64)


def test_an_optimiser_of_ones_own_that_takes_lr_alone_needs_no_get_config():
    # The base class's get_config gives lr: what saving and repr show of such an optimiser.
    class SignSGD(Optimizer):
        def update(self, param, grad, state, work):
            param -= self.lr * np.sign(grad)

    opt = SignSGD(0.5)
    assert opt.get_config() == {"lr": 0.5}
    assert repr(opt) == "SignSGD(lr=0.5)"


def test_keras_defaults():
    assert SGD().lr == 0.01 and SGD().momentum == 0.0 and not SGD().nesterov
    r = RMSprop()
    assert (r.lr, r.rho, r.eps) == (0.001, 0.9, 1e-7)
    a = Adam()
    assert (a.lr, a.beta1, a.beta2, a.eps) == (0.001, 0.9, 0.999, 1e-7)


# Readable ids: a grade names the failing test, and "[<lambda>2]" says nothing to a student.
@pytest.mark.parametrize("make", [
    pytest.param(lambda: SGD(0.1), id="SGD"),
    pytest.param(lambda: SGD(0.1, momentum=0.9), marks=pytest.mark.part("sgd-momentum"),
                 id="SGD-momentum"),
    pytest.param(lambda: RMSprop(0.01), marks=pytest.mark.part("rmsprop"), id="RMSprop"),
    pytest.param(lambda: Adam(0.01), marks=pytest.mark.part("adam"), id="Adam"),
])
def test_the_layer_sees_the_update(make):
    rng = np.random.default_rng(3)
    model = Sequential([Dense(4, 5), ReLU(), Dense(5, 3), Softmax()], seed=1)
    x, y = rng.standard_normal((8, 4)), rng.integers(0, 3, 8)
    loss = CrossEntropy()
    loss.forward(model.forward(x), y)
    model.backward(loss.backward())
    dense = model.layers[0]
    W, b = dense.params["W"], dense.params["b"]
    before = W.copy()
    make().step(model.parameters())
    # The very arrays the layer holds were updated, in place, and kept their dtype.
    assert dense.params["W"] is W and dense.params["b"] is b
    assert W.dtype == np.float32
    assert not np.array_equal(W, before)
    # And the change is the step the gradient asked for (SGD: -lr * dW, for example).
    assert np.all(np.sign(W - before)[dense.grads["W"] != 0]
                  == -np.sign(dense.grads["W"])[dense.grads["W"] != 0])


@pytest.mark.part("sgd-momentum")
def test_state_is_kept_per_parameter():
    a, b = np.zeros(3), np.zeros(3)
    opt = SGD(0.1, momentum=0.9)
    opt.step([(a, np.ones(3)), (b, -np.ones(3))])
    opt.step([(a, np.ones(3)), (b, -np.ones(3))])
    np.testing.assert_allclose(a, -b)
    np.testing.assert_allclose(a, -0.1 - (0.9 * 0.1 + 0.1))


@pytest.mark.parametrize("make", [
    lambda: SGD(-0.1), lambda: SGD(float("nan")), lambda: SGD("0.1"),
    lambda: SGD(0.1, momentum=1.0), lambda: SGD(0.1, momentum=-0.1),
    lambda: SGD(0.1, nesterov=True), lambda: SGD(0.1, weight_decay=-1e-4),
    lambda: RMSprop(-1e-3), lambda: RMSprop(rho=1.0), lambda: RMSprop(rho=-0.5),
    lambda: RMSprop(eps=0.0), lambda: Adam(-1.0), lambda: Adam(beta1=1.0),
    lambda: Adam(beta2=1.5), lambda: Adam(beta1=-0.1), lambda: Adam(eps=-1e-7),
    lambda: Adam(lr=True), lambda: SGD(float("inf")), lambda: SGD(0.1, weight_decay=np.inf),
    lambda: RMSprop(eps=float("inf")), lambda: Adam(eps=np.float32("inf")),
])
def test_bad_hyper_parameters_are_refused(make):
    with pytest.raises(ValueError, match=r"must be|needs"):
        make()


@pytest.mark.parametrize("nesterov", ["no", "False", 1, None])
def test_nesterov_must_be_true_or_false(nesterov):
    # bool("no") is True: a string would silently turn Nesterov on (or, with momentum 0,
    # fail with a message about momentum instead of about the flag).
    with pytest.raises(TypeError, match="SGD: nesterov must be True or False"):
        SGD(0.1, momentum=0.9, nesterov=nesterov)
    assert SGD(0.1, momentum=0.9, nesterov=np.True_).nesterov is True


def test_numpy_numbers_are_accepted_as_hyper_parameters():
    assert SGD(np.int64(1)).lr == 1.0 and isinstance(SGD(np.int64(1)).lr, float)
    assert Adam(np.float32(0.5), beta1=np.float64(0.8)).beta1 == 0.8


@pytest.mark.parametrize("make", [SGD, Adam])
@pytest.mark.parametrize("param, bad_grad, message", [
    (np.ones(3), None, "no gradient yet: call model.backward"),
    (np.ones(3), np.zeros(2), r"gradient of shape \(2,\) for a parameter of shape \(3,\)"),
    (np.ones(3), np.zeros(3, complex), r"the gradient of a parameter of shape \(3,\) must "
                                       r"hold real numbers .*, got dtype complex128$"),
    (np.ones(3), np.array(["a", "b", "c"]), r"must hold real numbers .*, got dtype <U1$"),
    (np.ones(3, np.int64), np.ones(3), r"a parameter of shape \(3,\) has dtype int64, "
                                       r"expected a float dtype"),
    (read_only(np.ones(3)), np.ones(3), r"a parameter of shape \(3,\) is read-only"),
], ids=["missing", "misshapen", "complex", "strings", "int-param", "read-only"])
def test_a_refused_step_changes_nothing(make, param, bad_grad, message):
    # A learner who calls opt.step too early, or with a wrong pair, fixes it and steps again:
    # the refused step must not have moved the parameters before it, nor counted as a step
    # (Adam's bias correction uses the count t). A step that let update find a gradient or a
    # parameter it cannot use would fail only once the parameter before it had moved.
    a = np.ones(3)
    opt = make(0.1)
    # A missing gradient is a step called too early; the others, values that do not fit.
    with pytest.raises(RuntimeError if bad_grad is None else ValueError, match=message):
        opt.step([(a, np.ones(3)), (param, bad_grad)])
    np.testing.assert_array_equal(a, np.ones(3))
    assert opt.iterations == 0
    assert all(not v.any() for v in opt.state(a).values())  # Adam's moments untouched


@pytest.mark.parametrize("make", [SGD, Adam])
def test_a_step_takes_pairs_as_tuples_lists_or_rows_of_an_object_array(make):
    # zip(params, grads) gives tuples; an object array of shape (n, 2), filled pair by pair,
    # rows of two; a tuple of those rows is two pairs, not one.
    a, b = np.ones(3), np.ones(3)
    pairs = np.empty((2, 2), dtype=object)
    pairs[0], pairs[1] = (a, np.ones(3)), (b, np.ones(3))
    opt = make(0.1)
    opt.step(pairs)
    opt.step(tuple(pairs))
    opt.step(zip([a, b], [np.ones(3), np.ones(3)], strict=True))
    opt.step([[a, np.ones(3)], [b, np.ones(3)]])
    assert opt.iterations == 4 and (a < 1).all() and (b < 1).all()
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("make", [SGD, Adam])
def test_a_weight_of_two_rows_with_its_gradient_in_a_list_is_no_pair_of_rows(make):
    # [W, dW] unpacked item by item would step W[0] by W[1]: refused, nothing moved.
    W, dW = np.ones((2, 3), np.float32), np.full((2, 3), 0.5, np.float32)
    opt = make(1.0)
    with pytest.raises(TypeError, match=r"got one pair: put it in a list"):
        opt.step([W, dW])
    assert (W == 1).all() and (dW == 0.5).all() and opt.iterations == 0


@pytest.mark.parametrize("make", [SGD, Adam])
@pytest.mark.parametrize("pairs, error, message", [
    # A training loop's commonest slip: the method where its result belongs.
    (lambda m: m.parameters, TypeError, r"got Sequential.parameters, a function: call it, "
                                        r"opt.step\(model.parameters\(\)\)$"),
    (lambda m: m, TypeError, r"got a Sequential: give its pairs, "
                             r"opt.step\(model.parameters\(\)\)$"),
    (lambda m: 3, TypeError, r"got int$"),
    (lambda m: {"W": m.parameters()[0]}, TypeError, r"got a value of type str among them$"),
    (lambda m: [(*m.parameters()[0], 1)], TypeError, r"got a tuple of 3 items among them$"),
    (lambda m: [m.parameters()[1], m.parameters()[0], m.parameters()[1]], ValueError,
     r"a parameter appears twice in the pairs, expected each once \(it would move twice in "
     r"one step\)$"),
    (lambda m: m.parameters()[0], TypeError, r"got one pair: put it in a list, "
                                             r"opt.step\(\[\(param, grad\)\]\)$"),
    # A Dense(3, 2)'s W has 3 rows, b 2 entries: [b, db] read as pairs would be the entries.
    (lambda m: list(m.parameters()[1]), TypeError, r"got one pair: put it in a list"),
    (lambda m: (m.parameters()[1][0], m.parameters()[1][1].tolist()), TypeError,
     r"got one pair: put it in a list"),
    (lambda m: [m.parameters()[1][0]], TypeError, r"got an array of shape \(2,\) among them$"),
], ids=["method", "model", "int", "dict", "triple", "twice", "one-pair", "one-pair-list",
        "one-pair-of-lists", "array-item"])
def test_a_step_refuses_what_is_not_pairs_of_distinct_parameters(make, pairs, error, message):
    model = Sequential([Dense(3, 2)], seed=0)
    model.forward(np.ones((4, 3)), training=True)
    model.backward(np.ones((4, 2)))  # a gradient for every parameter
    before = [p.copy() for p, _ in model.parameters()]
    opt = make(0.1)
    if error is TypeError:
        message = (r"step takes \(param, grad\) pairs, as model.parameters\(\) gives them, "
                   + message)
    with pytest.raises(error, match=r"^[A-Za-z]+\(lr=0.1, .*\): " + message):
        opt.step(pairs(model))
    assert opt.iterations == 0
    for (p, _), old in zip(model.parameters(), before, strict=True):
        np.testing.assert_array_equal(p, old)


@pytest.mark.parametrize("make", [SGD, Adam])
def test_a_step_takes_a_gradient_as_a_list_and_refuses_a_parameter_that_is_no_array(make):
    # Read for .shape first, either would raise an AttributeError that names neither.
    a = np.ones(3)
    opt = make(0.1)
    with pytest.raises(TypeError, match=r"a parameter must be a NumPy array \(the step "
                                        r"updates it in place\), got list$"):
        opt.step([(a, np.ones(3)), ([1.0, 2.0], np.ones(2))])
    np.testing.assert_array_equal(a, np.ones(3))
    with pytest.raises(ValueError, match=r"gradient of shape \(1, 2\) for a parameter of "
                                         r"shape \(3,\)$"):
        opt.step([(a, [[1.0, 2.0]])])
    assert opt.iterations == 0
    opt.step([(a, [1.0, 1.0, 1.0])])
    assert (a < 1).all() and opt.iterations == 1


@pytest.mark.parametrize("make", [RMSprop, Adam])
def test_a_mean_of_squared_gradients_refuses_float16_parameters(make):
    # Adam's first step on a float16 parameter with a gradient of 1e-3 would be -0.265, not
    # -0.001: (1 - beta2) * g**2 is 0 in float16, and the step divides by its square root.
    # What the message says: the part of the mean Adam's and RMSprop's steps add.
    adam = np.float16(0.001) * np.float16([5e-3, 6e-3]) ** 2
    rmsprop = np.float16(0.1) * np.float16([5e-4, 6e-4]) ** 2
    assert adam[0] == 0 < adam[1] and rmsprop[0] == 0 < rmsprop[1]
    a, p = np.zeros(2, np.float32), np.zeros(2, np.float16)
    opt = make(0.001)
    with pytest.raises(ValueError, match=r"a parameter of shape \(2,\) is float16, too narrow "
                                         r"for the mean of squared gradients \(float16 rounds "
                                         r"what a step adds to it to 0 for small gradients: "
                                         r"Adam's 0.001 \* g\*\*2 below 5e-3, RMSprop's "
                                         r"0.1 \* g\*\*2 below 5e-4\): build the layers in "
                                         r"float32$"):
        opt.step([(a, np.full(2, 1e-3, np.float32)), (p, np.full(2, 1e-3, np.float16))])
    assert not a.any() and not p.any() and opt.iterations == 0
    # Plain SGD keeps no squares: a float16 model still trains with it.
    SGD(0.1).step([(p, np.full(2, 1e-3, np.float16))])
    np.testing.assert_array_equal(p, np.float16(-1e-4))


def test_optimisers_by_keras_name():
    # compile(loss, "adam") is Keras's Adam(), with the defaults test_keras_defaults pins, and
    # so in any case.
    for name, cls in (("sgd", SGD), ("rmsprop", RMSprop), ("adam", Adam), ("Adam", Adam),
                      ("SGD", SGD), ("RMSPROP", RMSprop), ("ADAM", Adam)):
        assert type(optim.get(name)) is cls
        assert optim.get(name).get_config() == cls().get_config()
    mine = Adam(0.1)
    assert optim.get(mine) is mine
    with pytest.raises(ValueError, match="optimizer must be"):
        optim.get("adagrad")


@pytest.mark.parametrize("make, message", [
    (lambda: Adam(learning_rate=0.01), r"Adam: learning_rate=0.01 is Keras's name; tinynet's "
                                       r"is lr, as in Adam\(lr=0.01\)"),
    (lambda: SGD(learning_rate=0.1, momentum=0.9), r"SGD: .* is lr, as in SGD\(lr=0.1\)"),
    (lambda: RMSprop(epsilon=1e-6), r"RMSprop: epsilon=1e-06 .* is eps, as in RMSprop\(eps="),
    (lambda: Adam(beta_1=0.8), r"Adam: beta_1=0.8 .* is beta1, as in Adam\(beta1=0.8\)"),
    (lambda: Adam(amsgrad=True), r"Adam: unexpected argument amsgrad=True; Adam takes lr, "
                                 r"beta1, beta2, eps$"),
    (lambda: RMSprop(momentum=0.9), r"RMSprop: unexpected argument momentum=0.9; RMSprop "
                                    r"takes lr, rho, eps$"),
])
def test_keras_argument_names_are_refused_naming_tinynets(make, message):
    # Keras writes Adam(learning_rate=...): Python's bare "unexpected keyword argument"
    # would leave the user to find tinynet's name for it.
    with pytest.raises(TypeError, match=message):
        make()


def test_keras_attribute_names_are_refused_naming_tinynets():
    # A Keras callback sets model.optimizer.learning_rate: as a new attribute that nothing
    # reads, training would go on at the old rate without a word.
    opt = Adam(0.01)
    # Worded as the constructor's refusal (test_keras_argument_names_are_refused_...).
    with pytest.raises(AttributeError, match=r"^Adam: learning_rate is Keras's name; "
                                             r"tinynet's is lr, as in optimizer\.lr = 0\.5$"):
        opt.learning_rate = 0.5
    with pytest.raises(AttributeError, match=r"^RMSprop: epsilon is Keras's name; "
                                             r"tinynet's is eps, as in optimizer\.eps$"):
        RMSprop().epsilon  # noqa: B018
    assert opt.lr == 0.01 and "learning_rate" not in vars(opt)
    opt.lr = 0.5  # tinynet's name works
    assert opt.lr == 0.5
    with pytest.raises(AttributeError, match="'SGD' object has no attribute 'rho'"):
        SGD().rho  # noqa: B018
    # Keras's name of an attribute this optimiser does not have: no eps to point to.
    with pytest.raises(AttributeError, match=r"^'SGD' object has no attribute 'epsilon'$"):
        SGD().epsilon  # noqa: B018


def small_model():
    return Sequential([Dense(4, 3), ReLU(), Dense(3, 2)], seed=0)


@pytest.mark.parametrize("make, message", [
    # PyTorch gives the parameters first: unrefused, Python would say "got multiple values
    # for argument 'lr'", or the number check would print every weight as the learning rate.
    (lambda m: SGD(m.parameters(), lr=0.01, momentum=0.5),
     r"^SGD: params=<list of 4 items> is a PyTorch argument; tinynet's optimiser is given the "
     r"parameters at each step, optimizer\.step\(model\.parameters\(\)\), or by "
     r"model\.compile\(loss, optimizer\): SGD\(lr=0\.01, momentum=0\.5\)$"),
    (lambda m: Adam(m.parameters()), r"^Adam: params=<list of 4 items> .*: Adam\(\)$"),
    (lambda m: SGD(iter(m.parameters()), 0.1),  # a generator, as PyTorch's parameters() is
     r"^SGD: params=<list_iterator> is a PyTorch argument; .*: SGD\(lr=0\.1\)$"),
    (lambda m: RMSprop(params=m.parameters(), lr=0.01),
     r"^RMSprop: params=<list of 4 items> .*: RMSprop\(lr=0\.01\)$"),
    (lambda m: Adam(tuple(m.parameters()), 0.01),
     r"^Adam: params=<tuple of 4 items> is a PyTorch argument; .*: Adam\(lr=0\.01\)$"),
    (lambda m: RMSprop(alpha=0.99), r"^RMSprop: alpha=0\.99 is PyTorch's name; tinynet's is "
                                    r"rho, as in RMSprop\(rho=0\.99\)$"),
    (lambda m: Adam(lr=1e-3, betas=(0.5, 0.999)),
     r"^Adam: betas=\(0\.5, 0\.999\) is a PyTorch argument; Adam takes the betas one by "
     r"one, as its equations name them: Adam\(beta1=0\.5, beta2=0\.999\)$"),
    (lambda m: Adam(betas=[0.5, 0.999]), r"^Adam: betas=\[0\.5, 0\.999\] .*: "
                                         r"Adam\(beta1=0\.5, beta2=0\.999\)$"),
    # Not a pair: the example shows where each of the two goes, not a value split wrongly.
    (lambda m: Adam(betas=0.9), r"^Adam: betas=0\.9 is a PyTorch argument; .*: "
                                r"Adam\(beta1=\.\.\., beta2=\.\.\.\)$"),
    (lambda m: Adam(betas=(0.9,)), r"^Adam: betas=\(0\.9,\) .*: "
                                   r"Adam\(beta1=\.\.\., beta2=\.\.\.\)$"),
], ids=["params-first", "params-alone", "params-iterator", "params-keyword", "params-tuple",
        "alpha", "betas", "betas-list", "betas-one-number", "betas-one-item"])
def test_pytorch_arguments_are_refused_with_the_tinynet_way(make, message):
    with pytest.raises(TypeError, match=message):
        make(small_model())


def test_pytorch_arguments_tinynet_has_no_word_for_are_listed_as_any_other():
    # SGD has no betas: "takes the betas one by one" would send the user to arguments that
    # SGD does not take. The list of what it takes says it, as for PyTorch's dampening.
    with pytest.raises(TypeError, match=r"^SGD: unexpected argument betas=\(0\.9, 0\.999\); "
                                        r"SGD takes lr, momentum, nesterov, weight_decay$"):
        SGD(betas=(0.9, 0.999))
    with pytest.raises(TypeError, match=r"^SGD: unexpected argument dampening=0\.1; "):
        SGD(dampening=0.1)


def test_an_optimiser_of_ones_own_may_take_the_parameters_first():
    class PerParameter(optim.Optimizer):  # first argument: a learning rate per parameter
        def __init__(self, rates, params=None):
            super().__init__(max(rates))
            self.rates, self.params = list(rates), params

    assert PerParameter([0.1, 0.2], params=[1]).rates == [0.1, 0.2]

    class Masked(SGD):  # lr first, as tinynet's, and a params keyword of its own
        def __init__(self, lr=0.01, params=None):
            super().__init__(lr)
            self.masked = params

    assert Masked(params=[1]).masked == [1]
    # and a number that is no learning rate is still refused by lr's check
    with pytest.raises(ValueError, match=r"^SGD: lr must be a number"):
        SGD(np.array([0.1, 0.2]))


@pytest.mark.parametrize("method, message", [
    ("zero_grad", r"^SGD: zero_grad is a PyTorch method; tinynet's backward overwrites every "
                  r"gradient, .*nothing to zero: model\.backward\(dy\), then "
                  r"optimizer\.step\(model\.parameters\(\)\)$"),
    ("state_dict", r"^SGD: state_dict is a PyTorch method; model\.save\('model\.npz'\) saves "
                   r"the optimiser's state with the model, and "
                   r"tinynet\.load_model\('model\.npz'\) restores both$"),
    ("load_state_dict", r"^SGD: load_state_dict is a PyTorch method; model\.save"),
], ids=["zero_grad", "state_dict", "load_state_dict"])
def test_pytorch_optimiser_methods_are_refused_with_the_tinynet_way(method, message):
    with pytest.raises(AttributeError, match=message):
        getattr(SGD(), method)


def test_a_training_loop_ported_from_pytorch_runs_as_tinynet_writes_it():
    # for x, y in loader: optimizer.zero_grad(); loss = criterion(model(x), y);
    # loss.backward(); optimizer.step() -- written as tinynet says each line.
    model = small_model()
    criterion = CrossEntropy(from_logits=True)  # nn.CrossEntropyLoss(): logits, labels
    optimizer = SGD(lr=0.5, momentum=0.5)
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((16, 4)), rng.integers(0, 2, 16)
    losses = []
    for _ in range(20):
        loss = criterion(model(x, training=True), y)  # a float: loss.item() is loss
        model.backward(criterion.backward())
        optimizer.step(model.parameters())
        losses.append(loss)
    assert isinstance(losses[0], float) and losses[-1] < losses[0] / 2


@pytest.mark.parametrize("lr", ["0.1", None, -0.1, float("nan"), np.inf, True])
def test_a_bad_learning_rate_is_refused_when_it_is_set_and_the_next_step_uses_the_old(lr):
    # A callback of one's own sets optimizer.lr (as LearningRateScheduler does). A string
    # taken as is would make Adam's next step fail after updating the moments and counting
    # the step.
    opt = Adam(0.1)
    with pytest.raises(ValueError, match=r"^Adam: lr must be a number in \[0\.0, inf\), got "):
        opt.lr = lr
    assert opt.lr == 0.1
    p = np.zeros(3)
    opt.step([(p, np.ones(3))])
    # Adam's first step moves each entry by lr, less a part eps / sqrt(v) = 1e-7 / sqrt(1e-3),
    # about 3e-6, with a constant gradient (see test_adam_first_step_moves_each_entry_by_about_lr).
    np.testing.assert_allclose(p, -0.1, rtol=1e-5)
    opt.lr = np.float32(0.5)  # a number of NumPy's is a number, kept as a float
    assert opt.lr == 0.5 and type(opt.lr) is float


#: Every hyper-parameter but SGD's nesterov, a flag, by optimiser.
HYPER_PARAMETERS = [(SGD, "lr"), (SGD, "momentum"), (SGD, "weight_decay"), (RMSprop, "lr"),
                    (RMSprop, "rho"), (RMSprop, "eps"), (Adam, "lr"), (Adam, "beta1"),
                    (Adam, "beta2"), (Adam, "eps")]


@pytest.mark.parametrize("make, name, bad", [
    *[(make, name, bad) for make, name in HYPER_PARAMETERS
      for bad in ("0.5", None, True, float("nan"), np.inf, -0.1)],
    (SGD, "momentum", 1.0), (RMSprop, "rho", 1.0), (Adam, "beta1", 1.0), (Adam, "beta2", 1.5),
    (RMSprop, "eps", 0.0), (Adam, "eps", 0.0),
])
def test_a_bad_hyper_parameter_is_refused_when_it_is_set_as_by_the_constructor(make, name,
                                                                                bad):
    # A callback may set any of them, not only lr: opt.beta1 = 1.5, or a string, taken as is
    # would make the next step fail, or turn the weights to NaN, once it had moved some of them.
    with pytest.raises(ValueError) as by_constructor:
        make(**{name: bad})
    opt = make(0.1)
    before = opt.get_config()
    with pytest.raises(ValueError) as by_setting:
        setattr(opt, name, bad)
    assert str(by_setting.value).startswith(f"{make.__name__}: {name} must be a number in ")
    assert str(by_setting.value) == str(by_constructor.value)
    assert opt.get_config() == before


@pytest.mark.parametrize("make, name, value", [
    pytest.param(SGD, "momentum", np.float32(0.5), marks=pytest.mark.part("sgd-momentum"),
                 id="SGD-momentum-float32"),
    pytest.param(SGD, "weight_decay", np.float64(0.01), id="SGD-weight_decay-float64"),
    pytest.param(RMSprop, "rho", np.float32(0.5), marks=pytest.mark.part("rmsprop"),
                 id="RMSprop-rho-float32"),
    pytest.param(RMSprop, "eps", 1e-3, marks=pytest.mark.part("rmsprop"),
                 id="RMSprop-eps-float"),
    pytest.param(Adam, "beta1", np.float64(0.5), marks=pytest.mark.part("adam"),
                 id="Adam-beta1-float64"),
    pytest.param(Adam, "beta2", 0.9, marks=pytest.mark.part("adam"), id="Adam-beta2-float"),
    pytest.param(Adam, "eps", np.float32(1e-3), marks=pytest.mark.part("adam"),
                 id="Adam-eps-float32"),
])
def test_a_hyper_parameter_set_later_is_kept_as_a_float_and_stepped_with(make, name, value):
    # SGD's momentum set on a plain SGD, which keeps no velocity: a setter that allocated
    # no velocities then would make the next step fail.
    set_later, built = make(0.1), make(0.1, **{name: value})
    setattr(set_later, name, value)
    assert type(getattr(set_later, name)) is float
    assert set_later.get_config() == built.get_config()
    p, q, grad = np.ones(3), np.ones(3), np.array([0.5, -1.0, 2.0])
    for _ in range(2):
        set_later.step([(p, grad)])
        built.step([(q, grad)])
    assert p.tobytes() == q.tobytes()


def test_nesterov_is_checked_when_it_is_set_and_still_needs_a_momentum():
    # A file saved with nesterov=True and momentum 0 would not load: the constructor its
    # config rebuilds refuses the pair.
    opt = SGD(0.1, momentum=0.9)
    with pytest.raises(TypeError, match=r"^SGD: nesterov must be True or False, got 'no'$"):
        opt.nesterov = "no"
    assert opt.nesterov is False
    opt.nesterov = np.True_
    assert opt.nesterov is True
    message = r"^SGD: nesterov=True needs a momentum > 0, got momentum=0\.0$"
    with pytest.raises(ValueError, match=message):
        opt.momentum = 0
    assert opt.get_config() == SGD(0.1, momentum=0.9, nesterov=True).get_config()
    plain = SGD(0.1)
    with pytest.raises(ValueError, match=message):
        plain.nesterov = True
    assert plain.nesterov is False
    with pytest.raises(ValueError, match=message):
        SGD(0.1, nesterov=True)


@pytest.mark.part("sgd-momentum")
def test_momentum_set_to_zero_keeps_and_saves_no_velocity_as_plain_sgd_does():
    # The velocity saved with the model would be an array that the plain SGD its config
    # rebuilds does not take, which load_model refuses; and one kept would come back, stale,
    # with a momentum set again later.
    p = np.zeros(3)
    opt = SGD(0.1, momentum=0.9)
    opt.step([(p, np.ones(3))])
    opt.momentum = 0.0
    assert opt.get_state([p]) == [{}]
    opt.momentum = 0.9
    assert [{k: v.tolist() for k, v in s.items()} for s in opt.get_state([p])] == [
        {"velocity": [0.0, 0.0, 0.0]}]


def test_an_optimiser_subclass_with_keyword_arguments_of_its_own_is_left_alone():
    class Scaled(SGD):
        def __init__(self, lr: float = 0.01, **options: float) -> None:
            super().__init__(lr)
            self.scale = options.get("scale", 1.0)

    assert Scaled(learning_rate=0.5, scale=2.0).scale == 2.0


@pytest.mark.parametrize("make", [
    pytest.param(lambda: SGD(0.1, momentum=0.9), marks=pytest.mark.part("sgd-momentum"),
                 id="SGD-momentum"),
    pytest.param(lambda: RMSprop(0.1), marks=pytest.mark.part("rmsprop"), id="RMSprop"),
    pytest.param(lambda: Adam(0.1), marks=pytest.mark.part("adam"), id="Adam"),
])
def test_get_state_is_a_snapshot_and_set_state_resumes_from_a_copy(make):
    # A checkpoint kept in memory must stay what it was when taken: get_state copies the
    # state out, set_state copies it in, so that the steps after either never write into it.
    rng = np.random.default_rng(0)
    p, g1, g2 = rng.standard_normal((3, 4))
    first = make()
    first.step([(p, g1)])
    saved, p_saved = first.get_state([p]), p.copy()
    kept = [{k: v.copy() for k, v in s.items()} for s in saved]
    first.step([(p, g2)])
    resumed, q = make(), p_saved.copy()
    resumed.set_state([q], saved, iterations=1)
    resumed.step([(q, g2)])
    for state, copy in zip(saved, kept, strict=True):
        assert state.keys() == copy.keys()
        for name in state:
            np.testing.assert_array_equal(state[name], copy[name])
    # ... and the copy restored goes on exactly as the optimiser it was taken from.
    assert q.tobytes() == p.tobytes() and resumed.iterations == first.iterations == 2


STATEFUL = pytest.mark.parametrize(
    "make", [lambda: SGD(0.1, momentum=0.9), lambda: RMSprop(0.01), lambda: Adam(0.01)],
    ids=["momentum", "rmsprop", "adam"])


def three_steps(model, x, y, between=lambda model: None):
    """The model's weights after three train steps on (x, y), ``between`` called after the
    first."""
    model.train_step(x, y)
    between(model)
    model.train_step(x, y)
    model.train_step(x, y)
    return [w.tobytes() for w in model.get_weights()]


def unpickled(model):
    return pickle.loads(pickle.dumps(model))


@STATEFUL
@pytest.mark.parametrize("copy", [deepcopy, unpickled], ids=["deepcopy", "pickle"])
def test_a_copy_of_a_model_goes_on_training_as_the_model_does(make, copy):
    # The state is kept by id(param): a copy whose optimiser looked its new parameters up
    # under the old ids would start its moments and velocities again from zero, and one
    # that shared the model's state arrays would move both models' moments at each step.
    # (multiprocessing and joblib pickle models: without this, the next fit would refuse the
    # unpickled optimiser as one that had trained another model.)
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((8, 4)), rng.standard_normal((8, 2))
    models = []
    for _ in range(2):
        models.append(small_model())
        models[-1].compile("mse", make(), metrics=None)
    twins = []
    expected = three_steps(models[0], x, y)
    assert three_steps(models[1], x, y, lambda model: twins.append(copy(model))) == expected
    twin = twins[0]
    assert twin.optimizer.iterations == 1 and not any(
        p is q for (p, _), (q, _) in zip(twin.parameters(), models[1].parameters(), strict=True))
    twin.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)  # two steps on all of x
    assert [w.tobytes() for w in twin.get_weights()] == expected


def stepped_model() -> tuple[Sequential, np.ndarray, np.ndarray]:
    """small_model after one Adam step on random data (x, y): its optimiser has state."""
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((8, 4)), rng.standard_normal((8, 2))
    model = small_model()
    model.compile("mse", Adam(0.01), metrics=None)
    model.train_step(x, y)
    return model, x, y


def test_an_optimiser_whose_parameter_arrays_were_replaced_is_refused_saying_so():
    model, x, y = stepped_model()
    model.layers[0].params["W"] = model.layers[0].params["W"].copy()
    with pytest.raises(ValueError, match=r"or this model's parameter arrays were replaced "
                                         r"since \(layer.params\[name\] = array puts in a new "
                                         r"one, where set_weights copies into the old\)"):
        model.fit(x, y, verbose=0)


def test_an_optimiser_of_a_layer_taken_out_is_refused_saying_so():
    # Keras's transfer-learning idiom: the last layer out, a new head in. The optimiser's
    # state is that of the old head too.
    model, x, y = stepped_model()
    head = model.layers.pop()
    model.add(type(head)(**head.get_config()))
    with pytest.raises(ValueError, match=r"it trained another model, a layer was taken out "
                                         r"\(model\.layers\.pop\(\)\), or "):
        model.fit(x, y, verbose=0)
    model.compile("mse", Adam(0.01), metrics=None)  # as the message's hint says
    assert np.isfinite(model.fit(x, y, verbose=0).history["loss"]).all()


@STATEFUL
def test_an_optimiser_copied_alone_is_a_snapshot_of_its_state(make):
    # Copied without its model, it keeps its state for the model's own parameters: put back
    # with the weights of the same moment, training goes on as from that moment.
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((8, 4)), rng.standard_normal((8, 2))
    model = small_model()
    model.compile("mse", make(), metrics=None)
    kept = []
    expected = three_steps(model, x, y, lambda model: kept.append(
        (model.get_weights(), deepcopy(model.optimizer))))
    weights, snapshot = kept[0]
    assert snapshot.iterations == 1 and model.optimizer.iterations == 3
    model.set_weights(weights)  # in place: the same parameter arrays
    model.optimizer = snapshot
    model.train_step(x, y)
    model.train_step(x, y)
    assert [w.tobytes() for w in model.get_weights()] == expected


def test_plain_sgd_keeps_and_saves_no_state():
    # A velocity that momentum 0 never reads would be allocated, and saved with every
    # checkpoint; such a file's optimiser state would not load into a plain SGD.
    p = np.zeros(3)
    opt = SGD(0.1)
    opt.step([(p, np.ones(3))])
    assert opt.get_state([p]) == [{}]
    assert [set(s) for s in SGD(0.1, momentum=0.5).get_state([p])] == [{"velocity"}]


def test_set_state_refuses_states_that_do_not_fit_by_name():
    p = np.zeros(3, np.float32)
    good = {"m": np.zeros(3, np.float32), "v": np.zeros(3, np.float32)}
    cases = [
        ([], r"Adam\(.*\): states must hold one state per parameter, 1, got 0$"),
        ([{"velocity": np.zeros(3, np.float32)}],
         r"Adam\(.*\): state names \['velocity'\], expected \['m', 'v'\]$"),
        ([{**good, "v": np.zeros(3)}], r"Adam\(.*\): state 'v' is float64 \(3,\), expected "
                                       r"float32 \(3,\)$"),
        ([{**good, "m": np.zeros(4, np.float32)}], r"Adam\(.*\): state 'm' is float32 \(4,\), "
                                                   r"expected float32 \(3,\)$"),
    ]
    for states, message in cases:
        with pytest.raises(ValueError, match=message):
            Adam().set_state([p], states, iterations=1)


def test_set_state_refuses_what_is_not_a_list_of_dicts_of_arrays_with_a_type_error():
    # Each is a slip in a resume by hand: before, Python's own "object of type 'NoneType' has
    # no len()", "unhashable type" or "'list' object has no attribute 'shape'".
    p = np.zeros(3, np.float32)
    good = {"m": np.zeros(3, np.float32), "v": np.zeros(3, np.float32)}
    cases = [
        ([p], None, r"states must be a list, one item per parameter, got None$"),
        ([p], good, r"states must be a list, one item per parameter, got a value of type dict$"),
        (p, [good], r"params must be a list, one item per parameter, got an array of shape "
                    r"\(3,\)$"),
        # np.load of one pickled dict: a 0-d object array, no list.
        ([p], np.array(good, dtype=object), r"states must be a list, one item per parameter, "
                                            r"got an array of shape \(\)$"),
        (None, [good], r"params must be a list, one item per parameter, got None$"),
        ([p.tolist()], [good], r"params\[0\] must be a parameter array, got a list of 3 items$"),
        ([p], [list(good.values())], r"states\[0\] must be a dict of arrays, as get_state\(\) "
                                     r"gives it, got a list of 2 items$"),
        ([p], [{**good, "v": [0.0] * 3}], r"states\[0\]\['v'\] must be an array, got a list of "
                                          r"3 items$"),
    ]
    for params, states, message in cases:
        opt = Adam()
        with pytest.raises(TypeError, match=r"^Adam\(.*\): " + message):
            opt.set_state(params, states, iterations=1)
        assert opt.iterations == 0
    # As set_weights takes them: lists kept by np.save as object arrays.
    kept_params, kept_states = np.empty(1, dtype=object), np.empty(1, dtype=object)
    kept_params[0], kept_states[0] = p, {**good, "m": np.ones(3, np.float32)}
    opt = Adam()
    opt.set_state(kept_params, kept_states, iterations=1)
    assert opt.get_state([p])[0]["m"].tolist() == [1.0] * 3


@pytest.mark.parametrize("make, name", [(RMSprop, "mean_square"), (Adam, "v")])
def test_set_state_refuses_a_negative_mean_of_squares(make, name):
    # sqrt of it is NaN: the first step after the restore would make every weight NaN. A
    # negative first moment (Adam's m) is a gradient's mean, and fine.
    p = np.zeros(3, np.float32)
    opt = make()
    states = [{n: np.full(3, -0.5 if n == "m" else 0.5, np.float32) for n in opt.state_names}]
    opt.set_state([p], states, iterations=1)
    states[0][name][1] = -1e-30
    with pytest.raises(ValueError, match=rf"state '{name}' has negative values \(1 of 3\), "
                                         r"expected values >= 0 \(a mean of squared gradients\)$"):
        opt.set_state([p], states, iterations=1)


def test_a_refused_set_state_leaves_an_optimiser_that_never_stepped_free_for_any_model():
    # Were checking a state to make it (zeros) for each parameter, a refused restore would tie
    # the optimiser to parameters it never stepped, and another model's compile refuse it.
    opt = SGD(0.1, momentum=0.9)
    a, b = (Sequential([Dense(2, 3)], seed=seed) for seed in (0, 1))
    with pytest.raises(ValueError, match=r"state names \['m'\], expected \['velocity'\]$"):
        opt.set_state([p for p, _ in a.parameters()], [{"m": np.zeros((2, 3))}] * 2, 0)
    assert opt.has_state_only_for([])
    b.compile("mse", opt)
    assert b.optimizer is opt


@pytest.mark.parametrize("q_state, iterations, message", [
    # The first parameter's state fits, the second's does not.
    ({"m": np.zeros(2, np.float32)}, 5, r"state names \['m'\], expected \['m', 'v'\]"),
    # The states all fit; only the count is wrong. Converted after the states are copied in,
    # it would be refused with the optimiser left holding the new moments and the old count.
    *[({"m": np.full(2, 7, np.float32), "v": np.full(2, 7, np.float32)}, iterations,
       r"^Adam: iterations must be an int >= 0, got ")
      for iterations in (None, "5", -1, 2.5, True)],
])
def test_a_refused_set_state_changes_no_state_and_no_step_count(q_state, iterations, message):
    # Neither state is restored, and the step count stays, so the optimiser goes on as if
    # set_state had not been called.
    p, q = np.zeros(3, np.float32), np.zeros(2, np.float32)
    opt = Adam()
    opt.step([(p, np.ones(3, np.float32)), (q, np.ones(2, np.float32))])
    before = opt.get_state([p, q])
    good = {"m": np.full(3, 7, np.float32), "v": np.full(3, 7, np.float32)}
    with pytest.raises(ValueError, match=message):
        opt.set_state([p, q], [good, q_state], iterations=iterations)
    assert opt.iterations == 1
    for state, old in zip(opt.get_state([p, q]), before, strict=True):
        for name in old:
            np.testing.assert_array_equal(state[name], old[name])
    fits = {"m": np.zeros(2, np.float32), "v": np.zeros(2, np.float32)}
    opt.set_state([p, q], [good, fits], iterations=np.int64(4))  # a NumPy int is an int
    assert opt.iterations == 4 and type(opt.iterations) is int
