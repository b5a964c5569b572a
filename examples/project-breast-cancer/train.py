#!/usr/bin/env python3
"""The `sklearn` entry point: scikit-learn's LogisticRegression on the breast-cancer data set.

    PATH=/usr/bin:$PATH keel run examples/project-breast-cancer -e sklearn -P C=0.5

`keel run` logs the parameters and sets MLFLOW_RUN_ID and MLFLOW_TRACKING_URI; this script logs the
test metrics through MLflow's REST API (`runs/log-batch`) with the standard library only, so it needs
nothing but a python3 with scikit-learn (Debian: python3-sklearn).
"""
import argparse
import csv
import json
import os
import sys
import time
import urllib.request

from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, log_loss, precision_score, recall_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def read_data(path):
    """scikit-learn's breast_cancer.csv: a header `569,30,malignant,benign`, then 30 features and the class."""
    with open(path, newline="") as f:
        reader = csv.reader(f)
        next(reader)
        rows = [[float(v) for v in row] for row in reader if row]
    return [row[:-1] for row in rows], [int(row[-1]) for row in rows]


def log_batch(metrics):
    """POST /api/2.0/mlflow/runs/log-batch to the tracking server `keel run` names."""
    uri = os.environ["MLFLOW_TRACKING_URI"].rstrip("/")
    now = int(time.time() * 1000)
    body = {
        "run_id": os.environ["MLFLOW_RUN_ID"],
        "metrics": [{"key": k, "value": v, "timestamp": now, "step": 0} for k, v in metrics.items()],
        "tags": [{"key": "model", "value": "sklearn.linear_model.LogisticRegression"}],
    }
    request = urllib.request.Request(
        f"{uri}/api/2.0/mlflow/runs/log-batch",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--C", type=float, default=1.0)
    parser.add_argument("--max-iter", type=int, default=500)
    parser.add_argument("--test-size", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--data", default="data/breast_cancer.csv")
    args = parser.parse_args()
    if "MLFLOW_RUN_ID" not in os.environ:
        sys.exit("Run this script with `keel run` (it sets MLFLOW_RUN_ID for the run it creates).")

    x, y = read_data(args.data)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=args.test_size, random_state=args.seed, stratify=y
    )
    model = make_pipeline(StandardScaler(), LogisticRegression(C=args.C, max_iter=args.max_iter))
    model.fit(x_train, y_train)
    predicted = model.predict(x_test)
    metrics = {
        "train_accuracy": accuracy_score(y_train, model.predict(x_train)),
        "test_accuracy": accuracy_score(y_test, predicted),
        "test_precision": precision_score(y_test, predicted),
        "test_recall": recall_score(y_test, predicted),
        "test_f1": f1_score(y_test, predicted),
        "test_log_loss": log_loss(y_test, model.predict_proba(x_test)),
    }
    log_batch(metrics)
    print(f"trained on {len(x_train)} rows, tested on {len(x_test)}")
    print(f"test accuracy {metrics['test_accuracy']:.4f}, F1 {metrics['test_f1']:.4f}")


if __name__ == "__main__":
    main()
