"""ml-routing: a small model picks the fulfilment tier of an order (README.md beside this file).

At load (the script's top level, in the tenant's worker, once per worker) it reads training.csv,
400 past orders with the tier the operations team chose for each, and trains a logistic regression
on them with numpy: deterministic, about a millisecond. For each request it reads the order's
features from headers the shop's front end sets, scores it, routes it to the backends labelled
tier: premium or tier: standard, and tells the backend the score in X-Model-Score. A request
without usable features goes to standard (FALLBACK), logged, with X-Model-Fallback saying why.

Needs the Python engine started with --preload numpy (a worker cannot import from disk).
"""

import math
import time

import numpy as np

# (column of training.csv, request header, largest believable value)
FEATURES = (
    ('cart_value', 'X-Cart-Value', 1e7),
    ('items', 'X-Cart-Items', 1e4),
    ('account_age_days', 'X-Account-Age-Days', 36500),
    ('past_purchases', 'X-Past-Purchases', 1e6),
)
TIERS = ('standard', 'premium')  # labels 0 and 1
FALLBACK = 'standard'
THRESHOLD = 0.5  # premium from this probability on
MODEL_HEADERS = ('X-Model-Score', 'X-Model-Version', 'X-Model-Fallback')


def read_csv(text):
    """(raw feature rows, labels 0/1) of training.csv; an error naming the line for anything else."""
    lines = text.splitlines()
    columns = [name for name, _, _ in FEATURES] + ['tier']
    if not lines or lines[0].strip().split(',') != columns:
        raise Exception(f"training.csv: the first line must be {','.join(columns)}")
    rows, labels = [], []
    for number, line in enumerate(lines[1:], 2):
        if not line.strip():
            continue
        cells = line.strip().split(',')
        if len(cells) != len(columns) or cells[-1] not in TIERS:
            raise Exception(f'training.csv:{number}: expected {len(columns)} values, the last one of {TIERS}')
        try:
            values = [float(c) for c in cells[:-1]]
        except ValueError:
            raise Exception(f'training.csv:{number}: not a number') from None
        if not all(math.isfinite(v) and v >= 0 for v in values):
            raise Exception(f'training.csv:{number}: values must be finite and not negative')
        rows.append(values)
        labels.append(TIERS.index(cells[-1]))
    if len(set(labels)) < 2:
        raise Exception('training.csv: needs orders of both tiers')
    return np.array(rows), np.array(labels, dtype=np.float64)


def inputs(raw):
    """The model's inputs for raw feature values: all four are skewed counts and amounts, so logs."""
    return np.log1p(raw)


def train(x, y, l2=1.0, iterations=30):
    """Logistic regression by Newton's method (IRLS) with a small L2 penalty (not on the intercept):
    starts from zero, no randomness, so the same CSV gives the same weights every time."""
    n, d = x.shape
    design = np.hstack([np.ones((n, 1)), x])
    w = np.zeros(d + 1)
    penalty = np.eye(d + 1) * l2
    penalty[0, 0] = 0.0
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(design @ w)))
        gradient = design.T @ (p - y) + penalty @ w
        hessian = (design * (p * (1.0 - p))[:, None]).T @ design + penalty
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-10:
            break
    return w


def probabilities(raw):
    """P(premium) for each row of raw feature values (an array n x 4)."""
    z = (np.clip(inputs(raw), LOW, HIGH) - MEAN) / SCALE
    return 1.0 / (1.0 + np.exp(-(WEIGHTS[0] + z @ WEIGHTS[1:])))


def probability(values):
    """P(premium) for one order's four raw feature values."""
    return float(probabilities(np.array([values], dtype=np.float64))[0])


# The top level: runs once in each worker (the tenant's first call, within twice the deadline).
started = time.process_time()
TRAINING = data('training.csv')  # the engine's data file (engines/python/README.md, "Data files")
RAW, LABELS = read_csv(TRAINING)
X = inputs(RAW)
LOW, HIGH = X.min(axis=0), X.max(axis=0)  # inputs are clipped to what the model has seen
MEAN, SCALE = X.mean(axis=0), np.where(X.std(axis=0) > 0, X.std(axis=0), 1.0)  # a constant column: left as is
WEIGHTS = train((X - MEAN) / SCALE, LABELS)
ACCURACY = float(np.mean((probabilities(RAW) >= THRESHOLD) == (LABELS == 1)))
VERSION = '%08x' % hash(TRAINING)  # the training data's FNV-1a: which model decided, for the backend
TRAIN_MS = (time.process_time() - started) * 1000
del TRAINING, X
announced = False


def features(headers):
    """(the four raw values, None), or (None, why not): missing, not a number, out of range."""
    values = []
    for _, header, most in FEATURES:
        text = headers[header]
        if text is None or not text.strip():
            return None, f'missing {header}'
        try:
            v = float(text)
        except ValueError:
            return None, f'invalid {header}'
        if not (math.isfinite(v) and 0 <= v <= most) or (header == 'X-Cart-Items' and v < 1):
            return None, f'invalid {header}'
        values.append(v)
    return values, None


def on_request(req):
    global announced
    if not announced:
        announced = True
        log(f'ml-routing: model {VERSION} trained on {len(LABELS)} orders in {TRAIN_MS:.1f} ms of CPU, '
            f'training accuracy {ACCURACY:.3f}')
    for name in MODEL_HEADERS:  # only this script says what the model decided
        req.remove_header(name)
    values, problem = features(req.headers)
    if problem is not None:
        log(f'ml-routing: {problem}, no prediction: {FALLBACK}')
        req.set_header('X-Model-Fallback', problem)
        return route_to({'tier': FALLBACK})
    p = probability(values)
    req.set_header('X-Model-Score', f'{p:.3f}')
    req.set_header('X-Model-Version', VERSION)
    return route_to({'tier': 'premium' if p >= THRESHOLD else 'standard'})
