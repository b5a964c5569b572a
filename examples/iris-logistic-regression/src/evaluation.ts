/** Per-class precision, recall and F1 from a confusion matrix. */
export interface ClassScores {
  class: string;
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

/** What the example writes to `evaluation/metrics.json` and renders in `evaluation/report.md`. */
export interface EvaluationReport {
  accuracy: number;
  classes: string[];
  /** `confusion[actual][predicted]` counts. */
  confusion: number[][];
  perClass: ClassScores[];
}

/** Builds the confusion matrix and the per-class scores of `predictions` against `labels`. */
export function evaluationReport(
  classes: readonly string[],
  labels: readonly number[],
  predictions: readonly number[],
): EvaluationReport {
  const confusion = classes.map(() => classes.map(() => 0));
  labels.forEach((actual, i) => {
    const row = confusion[actual];
    const predicted = predictions[i] ?? -1;
    if (row !== undefined && row[predicted] !== undefined) row[predicted] += 1;
  });
  const perClass = classes.map((name, c): ClassScores => {
    const truePositives = confusion[c]?.[c] ?? 0;
    const predicted = confusion.reduce((sum, row) => sum + (row[c] ?? 0), 0);
    const support = (confusion[c] ?? []).reduce((sum, count) => sum + count, 0);
    const precision = predicted === 0 ? 0 : truePositives / predicted;
    const recall = support === 0 ? 0 : truePositives / support;
    const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
    return { class: name, precision, recall, f1, support };
  });
  const correct = classes.reduce((sum, _, c) => sum + (confusion[c]?.[c] ?? 0), 0);
  return { accuracy: correct / labels.length, classes: [...classes], confusion, perClass };
}

/** The report as Markdown: accuracy, the confusion matrix and a per-class table. */
export function reportMarkdown(report: EvaluationReport, title: string): string {
  const fixed = (value: number): string => value.toFixed(3);
  const lines = [
    `# ${title}`,
    '',
    `Test accuracy: **${fixed(report.accuracy)}** on ${report.perClass.reduce((s, c) => s + c.support, 0)} held-out rows.`,
    '',
    '## Confusion matrix (rows: actual, columns: predicted)',
    '',
    `| actual \\ predicted | ${report.classes.join(' | ')} |`,
    `|---|${report.classes.map(() => '---:').join('|')}|`,
    ...report.classes.map((name, c) => `| ${name} | ${(report.confusion[c] ?? []).join(' | ')} |`),
    '',
    '## Per class',
    '',
    '| class | precision | recall | F1 | support |',
    '|---|---:|---:|---:|---:|',
    ...report.perClass.map(
      (s) => `| ${s.class} | ${fixed(s.precision)} | ${fixed(s.recall)} | ${fixed(s.f1)} | ${s.support} |`,
    ),
    '',
  ];
  return lines.join('\n');
}
