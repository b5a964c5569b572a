#!/usr/bin/env python3
"""Trains a scikit-learn logistic regression on the iris flowers and writes a Keel model directory.

The directory is served by Keel's `process` flavor: MLmodel runs `python3 predict.py`, which speaks
the keel-jsonl/1 protocol. Usage (Debian's python3 with python3-sklearn):

    /usr/bin/python3 examples/sklearn-process/train.py --output /tmp/iris-model

Writes MLmodel (process flavor, column-based signature, input example), model.pkl (the estimator,
pickled with `pickle`), predict.py, requirements.txt, input_example.json and
serving_input_example.json. Needs only the standard library and scikit-learn.
"""
import argparse
import csv
import datetime
import json
import os
import pickle
import re
import shutil
import sys
import uuid

import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

HERE = os.path.dirname(os.path.abspath(__file__))
FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


def read_iris(path):
    """scikit-learn's iris.csv: a header `150,4,<class names>`, then 4 features and a class index."""
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = [row for row in reader if row]
    features = [[float(v) for v in row[:4]] for row in rows]
    targets = [int(row[4]) for row in rows]
    return features, targets, header[2:]


def yaml_scalar(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    text = str(value)
    plain = re.fullmatch(r"[A-Za-z_][A-Za-z0-9_./-]*", text) and text.lower() not in (
        "true", "false", "yes", "no", "on", "off", "null", "y", "n",
    )
    return text if plain else "'" + text.replace("'", "''") + "'"


def to_yaml(value, indent=0):
    """Block-style YAML for the dicts, lists and scalars of an MLmodel (as PyYAML would write them)."""
    pad = "  " * indent
    lines = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, (dict, list)) and item:
                lines.append("%s%s:" % (pad, key))
                lines.append(to_yaml(item, indent + (1 if isinstance(item, dict) else 0)))
            else:
                lines.append("%s%s: %s" % (pad, key, "{}" if item == {} else "[]" if item == [] else yaml_scalar(item)))
    else:
        for item in value:
            lines.append("%s- %s" % (pad, yaml_scalar(item)))
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output", default=os.path.join(HERE, "model"), help="model directory to write")
    parser.add_argument("--data", default=os.path.join(HERE, "data", "iris.csv"), help="iris CSV")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    features, targets, class_names = read_iris(args.data)
    x_train, x_test, y_train, y_test = train_test_split(
        features, targets, test_size=0.2, random_state=args.seed, stratify=targets
    )
    model = LogisticRegression(max_iter=1000)
    model.fit(x_train, y_train)
    accuracy = model.score(x_test, y_test)
    print("test accuracy %.3f on %d rows" % (accuracy, len(y_test)), file=sys.stderr)

    out = args.output
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "model.pkl"), "wb") as f:
        pickle.dump({"model": model, "features": FEATURES, "class_names": class_names}, f)
    shutil.copyfile(os.path.join(HERE, "predict.py"), os.path.join(out, "predict.py"))
    with open(os.path.join(out, "requirements.txt"), "w") as f:
        f.write("scikit-learn==%s\n" % sklearn.__version__)

    example = {"columns": FEATURES, "data": x_test[:3]}
    with open(os.path.join(out, "input_example.json"), "w") as f:
        json.dump(example, f)
    with open(os.path.join(out, "serving_input_example.json"), "w") as f:
        json.dump({"dataframe_split": example}, f, indent=2)

    inputs = [{"type": "double", "name": name, "required": True} for name in FEATURES]
    outputs = [
        {"type": "long", "name": "predicted_class", "required": True},
        {"type": "string", "name": "label", "required": True},
    ] + [{"type": "double", "name": "probability_" + name, "required": True} for name in class_names]
    mlmodel = {
        "artifact_path": "model",
        "flavors": {
            "process": {
                "command": ["python3", "predict.py"],
                # One BLAS thread per model process: Keel's server has its own threads to feed.
                "env": {"OMP_NUM_THREADS": "1"},
                "protocol": "keel-jsonl/1",
                "sklearn_version": sklearn.__version__,
            },
        },
        "model_uuid": uuid.uuid4().hex,
        "saved_input_example_info": {
            "artifact_path": "input_example.json",
            "pandas_orient": "split",
            "serving_input_path": "serving_input_example.json",
            "type": "dataframe",
        },
        "signature": {
            "inputs": json.dumps(inputs),
            "outputs": json.dumps(outputs),
            "params": None,
        },
        "utc_time_created": str(datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)),
    }
    with open(os.path.join(out, "MLmodel"), "w") as f:
        f.write(to_yaml(mlmodel) + "\n")
    print("wrote %s" % out, file=sys.stderr)


if __name__ == "__main__":
    main()
