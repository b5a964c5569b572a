#!/usr/bin/env python3
"""Serves the scikit-learn model next to this file to Keel over the keel-jsonl/1 protocol.

Keel starts this script with the model directory as working directory and talks to it in JSON
lines: the script prints {"ready": true} once the model is loaded, then answers every request line
{"id": n, "input": {...}, "params": {...}} with {"id": n, "output": {...}} or
{"id": n, "error": {"message": "..."}}. Logs go to stderr; stdout carries only protocol lines.
Needs only the standard library and scikit-learn (Debian: python3-sklearn).
"""
import json
import os
import pickle
import sys


def load(directory):
    """The bundle train.py pickled: the estimator, its feature names and its class names."""
    with open(os.path.join(directory, "model.pkl"), "rb") as f:
        return pickle.load(f)


def to_rows(model_input, features):
    """Turns Keel's ModelInput (named columns, or one [rows, features] tensor) into a list of rows."""
    kind = model_input.get("kind")
    if kind == "columns":
        columns = model_input["columns"]
        missing = [name for name in features if name not in columns]
        if missing:
            raise ValueError("missing input column(s): " + ", ".join(missing))
        return [[float(columns[name][r]) for name in features] for r in range(model_input["rowCount"])]
    if kind == "tensors":
        tensors = list(model_input["tensors"].values())
        width = len(features)
        if len(tensors) != 1 or len(tensors[0]["shape"]) != 2 or tensors[0]["shape"][1] != width:
            raise ValueError("expected one tensor of shape [rows, %d]" % width)
        data = tensors[0]["data"]
        return [[float(v) for v in data[r * width:(r + 1) * width]] for r in range(tensors[0]["shape"][0])]
    raise ValueError("unknown input kind %r" % (kind,))


def predict(bundle, model_input):
    """Columns: the predicted class index and name, and one probability column per class."""
    rows = to_rows(model_input, bundle["features"])
    model = bundle["model"]
    names = bundle["class_names"]
    predicted = [int(c) for c in model.predict(rows)]
    probabilities = model.predict_proba(rows)
    output = {"predicted_class": predicted, "label": [names[c] for c in predicted]}
    for j, name in enumerate(names):
        output["probability_" + name] = [float(p[j]) for p in probabilities]
    return output


def main():
    bundle = load(os.path.dirname(os.path.abspath(__file__)))
    print("loaded %s with features %s" % (type(bundle["model"]).__name__, bundle["features"]), file=sys.stderr)
    out = sys.stdout
    out.write(json.dumps({"ready": True}) + "\n")
    out.flush()
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        try:
            reply = json.dumps({"id": request["id"], "output": predict(bundle, request["input"])}, allow_nan=False)
        except Exception as error:  # this request fails; the process keeps serving the next ones
            message = "%s: %s" % (type(error).__name__, error)
            reply = json.dumps({"id": request["id"], "error": {"message": message}})
        out.write(reply + "\n")
        out.flush()


if __name__ == "__main__":
    main()
