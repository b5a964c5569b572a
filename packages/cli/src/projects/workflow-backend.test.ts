import { WORKFLOW_NAME_PATTERN } from '@keel/core';
import { describe, expect, it } from 'vitest';
import { PROJECT_TASK, projectWorkflowModule, projectWorkflowName } from './workflow-backend.js';

describe('projectWorkflowName', () => {
  it('makes a valid workflow name of any project name', () => {
    expect(projectWorkflowName('breast-cancer')).toBe('keel-project.breast-cancer');
    expect(projectWorkflowName('my project/ü')).toBe('keel-project.my_project__');
    const long = projectWorkflowName('x'.repeat(300));
    expect(long).toHaveLength(128);
    expect(WORKFLOW_NAME_PATTERN.test(long)).toBe(true);
  });
});

describe('projectWorkflowModule', () => {
  it('declares one command task shipping the project, with the command and ids as inputs', () => {
    const module = projectWorkflowModule('keel-project.demo');
    expect(module).toContain(`name: "${PROJECT_TASK}"`);
    expect(module).toContain("files: ['project']");
    expect(module).toContain("'{{inputs.command}}', '{{inputs.run_id}}', '{{inputs.experiment_id}}'");
    expect(module).toContain('workflow({ name: "keel-project.demo", inputs }');
  });
});
