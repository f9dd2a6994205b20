#!/usr/bin/env python3
"""Writes ../training.csv: 400 past orders of a made-up shop, each with the fulfilment tier its
operations team chose for it (premium or standard). Deterministic: the same file every time, with
any Python 3 (random.Random with a fixed seed; no numpy), so the committed CSV can be checked:

    python3 examples/ml-routing/tools/make_training_csv.py && git diff --exit-code examples/ml-routing/training.csv

How the team chose (the rule the model is to learn, never shown to it): premium for valuable
carts of established, returning customers, less so for very large carts (slow to pick); with
noise, because people do not decide by formula. Only the columns are the model's."""

import math
import os
import random

ROWS = 400
SEED = 20240607
OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'training.csv')


def order(r):
    cart_value = min(3000.0, max(5.0, math.exp(r.gauss(math.log(90), 0.9))))
    items = min(40, 1 + int(r.expovariate(1 / 3)))
    account_age_days = min(4000, int(r.expovariate(1 / 600)))
    past_purchases = min(300, int(account_age_days / 365 * r.expovariate(1 / 4)))
    z = (1.5 * math.log(cart_value / 150) + 0.7 * math.log1p(past_purchases)
         + 0.5 * math.log1p(account_age_days / 365) - 0.35 * math.log(items) - 1.2 + r.gauss(0, 0.7))
    tier = 'premium' if z > 0 else 'standard'
    return f'{cart_value:.2f},{items},{account_age_days},{past_purchases},{tier}'


def main():
    r = random.Random(SEED)
    lines = ['cart_value,items,account_age_days,past_purchases,tier'] + [order(r) for _ in range(ROWS)]
    with open(OUT, 'w', newline='\n') as f:
        f.write('\n'.join(lines) + '\n')


if __name__ == '__main__':
    main()
