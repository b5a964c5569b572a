import { useId } from 'react';
import { type ChartViewState, MAX_SMOOTHING, X_AXIS_MODES, type XAxisMode } from './chart-view-state';

/** Props of {@link ChartControls}. */
export interface ChartControlsProps {
  view: ChartViewState;
  onChange: (next: ChartViewState) => void;
}

const X_AXIS_NAMES: Record<XAxisMode, string> = {
  step: 'Step',
  wall: 'Wall time',
  relative: 'Relative time',
};

/**
 * The controls every chart of a page shares: what the x axis shows, a log-scale y axis, and
 * TensorBoard-style smoothing (0 = raw values; the raw line stays visible, faint, under the smoothed one).
 */
export function ChartControls({ view, onChange }: ChartControlsProps) {
  const smoothingId = useId();
  return (
    <fieldset className="chart-controls">
      <legend className="visually-hidden">Chart options</legend>
      <fieldset className="segmented">
        <legend className="chart-control-label">X axis</legend>
        {X_AXIS_MODES.map((mode) => (
          <label key={mode} className={view.xAxis === mode ? 'checked' : undefined}>
            <input
              type="radio"
              name={`x-axis-${smoothingId}`}
              value={mode}
              checked={view.xAxis === mode}
              onChange={() => onChange({ ...view, xAxis: mode })}
            />
            {X_AXIS_NAMES[mode]}
          </label>
        ))}
      </fieldset>
      <label className="chart-toggle">
        <input
          type="checkbox"
          checked={view.logY}
          onChange={(event) => onChange({ ...view, logY: event.target.checked })}
        />
        Log scale
      </label>
      <div className="chart-smoothing">
        <label htmlFor={smoothingId} className="chart-control-label">
          Smoothing
        </label>
        <input
          id={smoothingId}
          type="range"
          min={0}
          max={MAX_SMOOTHING}
          step={0.01}
          value={view.smoothing}
          onChange={(event) => onChange({ ...view, smoothing: Number(event.target.value) })}
        />
        <output htmlFor={smoothingId} className="mono">
          {view.smoothing.toFixed(2)}
        </output>
      </div>
    </fieldset>
  );
}
