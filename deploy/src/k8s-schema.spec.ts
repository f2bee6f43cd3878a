/* eslint-disable @typescript-eslint/no-explicit-any -- the patches reach into the fixture's nested fields */
import type { KubeObject } from './helm';
import { unknownFields, validateObject } from './k8s-schema';

// The validator must catch what the API server of Kubernetes 1.35 would refuse or silently drop.
const deployment = (patch: (d: Record<string, any>) => void = () => undefined): KubeObject => {
  const d = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'natlens-hub', labels: { app: 'hub' } },
    spec: {
      selector: { matchLabels: { app: 'hub' } },
      template: { metadata: { labels: { app: 'hub' } }, spec: { containers: [{ name: 'hub', image: 'natlens:0.1.0', ports: [{ name: 'http', containerPort: 8470 }], resources: { limits: { cpu: '1' } } }] } },
    },
  };
  patch(d);
  return d as KubeObject;
};

describe('validateObject', () => {
  it('takes a valid object', () => {
    expect(validateObject(deployment())).toEqual([]);
  });

  it.each([
    ['a wrong type', (d: any) => (d.spec.template.spec.containers[0].ports[0].containerPort = '8470'), 'containerPort must be integer'],
    ['a missing required field', (d: any) => delete d.spec.template.spec.containers[0].name, "must have required property name"],
    ['an unknown field', (d: any) => (d.spec.template.spec.containers[0].readinesProbe = {}), 'unknown field spec.template.spec.containers[0].readinesProbe'],
    ['a selector the pods do not carry', (d: any) => (d.spec.selector.matchLabels.app = 'other'), 'spec.selector.matchLabels app=other does not match'],
    ['an invalid name', (d: any) => (d.metadata.name = 'Natlens_Hub'), 'is not a valid DNS-1123 subdomain'],
    ['a label value too long', (d: any) => (d.metadata.labels.app = 'x'.repeat(64)), 'is not a valid label value'],
    ['an API 1.35 does not serve', (d: any) => (d.apiVersion = 'apps/v1beta1'), 'apps/v1beta1/Deployment is not one of the APIs'],
  ])('reports %s', (_what, patch, message) => {
    expect(validateObject(deployment(patch)).join('\n')).toContain(message);
  });

  it('checks a PrometheusRule against the operator\'s schema', () => {
    const rule = (expr: unknown): KubeObject => ({ apiVersion: 'monitoring.coreos.com/v1', kind: 'PrometheusRule', metadata: { name: 'natlens' }, spec: { groups: [{ name: 'natlens', rules: [{ alert: 'A', expr }] }] } });
    expect(validateObject(rule('up == 0'))).toEqual([]);
    expect(validateObject(rule(['up == 0'])).join('\n')).toContain('expr');
  });

  it('walks arrays and maps of typed fields', () => {
    expect(unknownFields({ metadata: { labels: { a: 'b' } }, spec: { ports: [{ port: 80, bogus: 1 }] } }, 'V1Service')).toEqual(['spec.ports[0].bogus']);
  });
});
