import * as clientModels from '@kubernetes/client-node/dist/gen/models/all.js';
import { PodMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor';
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import { DaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { ClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import { ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import type { KubeObject } from './helm';

/*
 * Checks a rendered object as the API server of Kubernetes 1.35 would, without one:
 *  - its apiVersion/kind is one 1.35 serves (the table below: GA APIs only, plus the Prometheus Operator's CRDs);
 *  - the OpenAPI schema (kubernetes-models 5.1: generated from Kubernetes 1.36, whose GA APIs are 1.35's plus
 *    additions; @kubernetes-models/prometheus-operator for monitoring.coreos.com): types, required fields, enums,
 *    formats;
 *  - no unknown field (the schemas above allow any; the API server drops them, or refuses them under strict field
 *    validation): walked against @kubernetes/client-node's type map (Kubernetes 1.34);
 *  - what the API server checks beyond the schema and the chart could get wrong: names (DNS-1123), label values,
 *    a workload's selector matching its pod template's labels.
 */

/** A kubernetes-models class; `validate()` comes from its base Model, whose types TypeScript's node10 resolution cannot reach. */
type ModelClass = new (data: object) => object;

const KINDS: Record<string, { model: ModelClass; clientType?: string }> = {
  'v1/Service': { model: Service, clientType: 'V1Service' },
  'v1/ConfigMap': { model: ConfigMap, clientType: 'V1ConfigMap' },
  'v1/Secret': { model: Secret, clientType: 'V1Secret' },
  'v1/ServiceAccount': { model: ServiceAccount, clientType: 'V1ServiceAccount' },
  'apps/v1/DaemonSet': { model: DaemonSet, clientType: 'V1DaemonSet' },
  'apps/v1/Deployment': { model: Deployment, clientType: 'V1Deployment' },
  'apps/v1/StatefulSet': { model: StatefulSet, clientType: 'V1StatefulSet' },
  'networking.k8s.io/v1/NetworkPolicy': { model: NetworkPolicy, clientType: 'V1NetworkPolicy' },
  'rbac.authorization.k8s.io/v1/ClusterRole': { model: ClusterRole, clientType: 'V1ClusterRole' },
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': { model: ClusterRoleBinding, clientType: 'V1ClusterRoleBinding' },
  'monitoring.coreos.com/v1/PrometheusRule': { model: PrometheusRule },
  'monitoring.coreos.com/v1/PodMonitor': { model: PodMonitor },
};

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
/** Kinds whose name becomes a DNS label (Service names are host names). */
const LABEL_NAMED = new Set(['Service']);
const WORKLOADS = new Set(['DaemonSet', 'Deployment', 'StatefulSet']);

/** Problems with one rendered object; empty when the API server of 1.35 would take it. */
export function validateObject(object: KubeObject): string[] {
  const where = `${object.kind ?? '?'} ${object.metadata?.name ?? '?'}`;
  const kind = KINDS[`${object.apiVersion}/${object.kind}`];
  if (!kind) return [`${where}: ${object.apiVersion}/${object.kind} is not one of the APIs this chart may use on Kubernetes 1.35 (${Object.keys(KINDS).join(', ')})`];
  const problems: string[] = [];
  try {
    (new kind.model(object) as { validate(): void }).validate();
  } catch (err) {
    problems.push(`${where}: ${(err as Error).message}`);
  }
  if (kind.clientType) problems.push(...unknownFields(object, kind.clientType).map((path) => `${where}: unknown field ${path}`));
  problems.push(...metadataProblems(object).map((p) => `${where}: ${p}`));
  return problems;
}

function metadataProblems(object: KubeObject): string[] {
  const problems: string[] = [];
  const name = object.metadata?.name ?? '';
  if (LABEL_NAMED.has(object.kind) ? !(DNS1123_LABEL.test(name) && name.length <= 63) : !(DNS1123_SUBDOMAIN.test(name) && name.length <= 253)) {
    problems.push(`metadata.name ${JSON.stringify(name)} is not a valid ${LABEL_NAMED.has(object.kind) ? 'DNS-1123 label (63 characters at most)' : 'DNS-1123 subdomain'}`);
  }
  const labelSets: [string, Record<string, string> | undefined][] = [['metadata.labels', object.metadata?.labels]];
  const spec = object['spec'] as { selector?: { matchLabels?: Record<string, string> }; template?: { metadata?: { labels?: Record<string, string> } } } | undefined;
  if (WORKLOADS.has(object.kind)) {
    labelSets.push(['spec.template.metadata.labels', spec?.template?.metadata?.labels]);
    const selector = spec?.selector?.matchLabels ?? {};
    const podLabels = spec?.template?.metadata?.labels ?? {};
    for (const [key, value] of Object.entries(selector)) {
      if (podLabels[key] !== value) problems.push(`spec.selector.matchLabels ${key}=${value} does not match the pod template's labels`);
    }
  }
  for (const [path, labels] of labelSets) {
    for (const [key, value] of Object.entries(labels ?? {})) {
      if (typeof value !== 'string' || value.length > 63 || !LABEL_VALUE.test(value)) problems.push(`${path}.${key}: ${JSON.stringify(value)} is not a valid label value`);
    }
  }
  return problems;
}

type AttributeMap = { baseName: string; type: string }[];
const models = clientModels as unknown as Record<string, { getAttributeTypeMap?: () => AttributeMap } | undefined>;

/** Paths of fields the Kubernetes type `typeName` (a @kubernetes/client-node model name) does not have. */
export function unknownFields(value: unknown, typeName: string, path = ''): string[] {
  const array = /^Array<(.+)>$/.exec(typeName);
  if (array) return Array.isArray(value) ? value.flatMap((item, i) => unknownFields(item, array[1] as string, `${path}[${i}]`)) : [];
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(typeName);
  if (map) return isObject(value) ? Object.entries(value).flatMap(([k, v]) => unknownFields(v, map[1] as string, `${path}.${k}`)) : [];
  const attributes = models[typeName]?.getAttributeTypeMap?.();
  if (!attributes || !isObject(value)) return []; // a primitive, IntOrString, a quantity, or free-form JSON
  const byName = new Map(attributes.map((a) => [a.baseName, a.type]));
  return Object.entries(value).flatMap(([key, field]) => {
    const fieldPath = path ? `${path}.${key}` : key;
    const type = byName.get(key);
    return type === undefined ? [fieldPath] : unknownFields(field, type, fieldPath);
  });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
