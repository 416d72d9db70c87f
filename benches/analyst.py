"""What an HR analyst would do with the raw answers: factor means per unit,
correlated with each unit's sickness absence. A measuring tool for
`naervaer bench` (issue 17), not part of the product: naervaer never exports
one row per response.

    python3 benches/analyst.py DIR RUNS K

DIR holds the bench's responses.csv (one row per response: unit_code, then
one column per item, 1-5, 0 for "don't know", empty when not answered),
items.csv (item;factor;reverse) and absence.csv (the absence import file).
Each step is timed in process, RUNS times after a warm-up; the medians are
printed as JSON on standard output.
"""

import json
import statistics
import sys
import time

import numpy as np
import pandas as pd
from scipy import stats


def pipeline(folder, k):
    t0 = time.perf_counter()
    responses = pd.read_csv(f"{folder}/responses.csv", sep=";", dtype={"unit_code": str})
    items = pd.read_csv(f"{folder}/items.csv", sep=";")
    absence = pd.read_csv(f"{folder}/absence.csv", sep=";", dtype={"unit_code": str})
    t1 = time.perf_counter()

    # A respondent's factor score: the mean of the factor's answered items
    # (reverse-coded ones as 6 - x), when at least half are answered.
    answers = responses.drop(columns="unit_code").to_numpy(dtype=float)
    answers[answers == 0] = np.nan
    scores = {}
    for factor, group in items.groupby("factor", sort=False):
        cols = [responses.columns.get_loc(i) - 1 for i in group["item"]]
        block = answers[:, cols]
        rev = group["reverse"].to_numpy(dtype=bool)
        block[:, rev] = 6 - block[:, rev]
        answered = np.sum(~np.isnan(block), axis=1)
        mean = np.nanmean(np.where(answered[:, None] > 0, block, 0), axis=1)
        mean[answered < (len(cols) + 1) // 2] = np.nan
        mean[answered == 0] = np.nan
        scores[factor] = mean
    frame = pd.DataFrame(scores)
    frame["unit_code"] = responses["unit_code"].to_numpy()
    grouped = frame.groupby("unit_code")
    means = grouped.mean()
    sizes = grouped.size()
    means = means[sizes >= k]
    t2 = time.perf_counter()

    days = absence.groupby("unit_code")[["lost_workdays", "agreed_workdays"]].sum()
    rate = 100 * days["lost_workdays"] / days["agreed_workdays"]
    joined = means.join(rate.rename("rate"), how="inner")
    correlations = {}
    for factor in scores:
        pair = joined[[factor, "rate"]].dropna()
        if len(pair) >= 3:
            correlations[factor] = (
                stats.pearsonr(pair[factor], pair["rate"]).statistic,
                stats.spearmanr(pair[factor], pair["rate"]).statistic,
            )
    t3 = time.perf_counter()
    return (t1 - t0, t2 - t1, t3 - t2, len(responses), len(joined), len(correlations))


def main():
    folder, runs, k = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    pipeline(folder, k)
    timings = [pipeline(folder, k) for _ in range(max(runs, 1))]
    ms = lambda i: [t[i] * 1000 for t in timings]
    total = [sum(t[:3]) * 1000 for t in timings]
    print(
        json.dumps(
            {
                "load_ms": ms(0),
                "aggregate_ms": ms(1),
                "correlate_ms": ms(2),
                "total_ms": total,
                "median_total_ms": statistics.median(total),
                "rows": timings[0][3],
                "groups": timings[0][4],
                "factors": timings[0][5],
                "pandas": pd.__version__,
                "numpy": np.__version__,
            }
        )
    )


if __name__ == "__main__":
    main()
