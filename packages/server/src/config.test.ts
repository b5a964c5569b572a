import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { openArtifactStore } from './artifacts/open-artifact-store.js';
import { resolveServerConfig } from './config.js';
import { startS3TestServer } from './testing/s3-test-server.js';

const s3 = await startS3TestServer();
afterAll(async () => {
  await s3?.close();
});

describe('resolveServerConfig: S3 settings', () => {
  it('takes the endpoint from the flag, then AWS_ENDPOINT_URL_S3, MLFLOW_S3_ENDPOINT_URL, AWS_ENDPOINT_URL', () => {
    const env = {
      AWS_ENDPOINT_URL: 'http://generic:1',
      MLFLOW_S3_ENDPOINT_URL: 'http://mlflow:2',
      AWS_ENDPOINT_URL_S3: 'http://s3-specific:3',
    };
    expect(resolveServerConfig({ s3EndpointUrl: 'http://flag:4' }, env).s3.endpoint).toBe('http://flag:4');
    expect(resolveServerConfig({}, env).s3.endpoint).toBe('http://s3-specific:3');
    expect(resolveServerConfig({}, { ...env, AWS_ENDPOINT_URL_S3: '' }).s3.endpoint).toBe('http://mlflow:2');
    expect(resolveServerConfig({}, { AWS_ENDPOINT_URL: 'http://generic:1' }).s3.endpoint).toBe(
      'http://generic:1',
    );
    expect(resolveServerConfig({}, {}).s3.endpoint).toBeUndefined();
  });

  it('takes the region from the flag, then AWS_REGION, then AWS_DEFAULT_REGION, else us-east-1', () => {
    const env = { AWS_REGION: 'eu-west-1', AWS_DEFAULT_REGION: 'eu-central-1' };
    expect(resolveServerConfig({ s3Region: 'ap-south-1' }, env).s3.region).toBe('ap-south-1');
    expect(resolveServerConfig({}, env).s3.region).toBe('eu-west-1');
    expect(resolveServerConfig({}, { AWS_DEFAULT_REGION: 'eu-central-1' }).s3.region).toBe('eu-central-1');
    expect(resolveServerConfig({}, {}).s3.region).toBe('us-east-1');
  });

  it('uses path-style addressing by default only with a custom endpoint, and lets it be forced either way', () => {
    expect(resolveServerConfig({}, {}).s3.forcePathStyle).toBe(false);
    expect(resolveServerConfig({ s3EndpointUrl: 'http://minio:9000' }, {}).s3.forcePathStyle).toBe(true);
    expect(resolveServerConfig({ s3ForcePathStyle: true }, {}).s3.forcePathStyle).toBe(true);
    expect(
      resolveServerConfig({ s3EndpointUrl: 'http://minio:9000' }, { KEEL_S3_FORCE_PATH_STYLE: 'false' }).s3
        .forcePathStyle,
    ).toBe(false);
    expect(() => resolveServerConfig({}, { KEEL_S3_FORCE_PATH_STYLE: 'sometimes' })).toThrow(
      /s3ForcePathStyle/,
    );
  });

  it('reads static credentials only when both key id and secret are set', () => {
    expect(resolveServerConfig({}, { AWS_ACCESS_KEY_ID: 'id' }).s3.credentials).toBeUndefined();
    expect(
      resolveServerConfig(
        {},
        { AWS_ACCESS_KEY_ID: 'id', AWS_SECRET_ACCESS_KEY: 'secret', AWS_SESSION_TOKEN: 't' },
      ).s3.credentials,
    ).toEqual({ accessKeyId: 'id', secretAccessKey: 'secret', sessionToken: 't' });
  });

  it('refuses an endpoint that is not an http(s) URL', () => {
    expect(() => resolveServerConfig({ s3EndpointUrl: 'minio:9000' }, {})).toThrow(/S3 endpoint/);
  });

  it('keeps s3:// destinations as they are and turns folders into file:// URIs', () => {
    expect(resolveServerConfig({ artifactsDestination: 's3://b/p' }, {}).artifactsDestination).toBe(
      's3://b/p',
    );
    expect(resolveServerConfig({ artifactsDestination: 'data/art' }, {}, '/srv').artifactsDestination).toBe(
      'file:///srv/data/art',
    );
  });

  it.runIf(s3 !== undefined)('gives settings an S3 store can use as they are (frozen)', async () => {
    const config = resolveServerConfig(
      { artifactsDestination: `s3://${s3?.bucket}/config-test`, s3EndpointUrl: s3?.endpoint },
      { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' },
    );
    expect(Object.isFrozen(config.s3.credentials)).toBe(true);
    const store = openArtifactStore(config.artifactsDestination, config.s3);
    try {
      await store.put('a.txt', Readable.from([Buffer.from('abc')]), { size: 3 });
      expect(await store.list('')).toEqual([{ name: 'a.txt', is_dir: false, file_size: 3 }]);
    } finally {
      await store.close();
    }
  });
});
