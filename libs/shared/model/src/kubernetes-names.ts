import { z } from 'zod';

/*
 * Kubernetes' rules for object names (k8s.io/apimachinery/pkg/util/validation), so a record can only name what a
 * cluster can hold:
 * - DNS-1123 label (namespaces, port names): lowercase letters, digits and '-', starting and ending alphanumeric,
 *   at most 63 characters;
 * - DNS-1035 label (Service names, ValidateServiceName): the same, starting with a letter;
 * - DNS-1123 subdomain (Nodes, Pods): labels joined by '.', at most 253 characters.
 */

const LABEL = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
export const DNS1123_LABEL_MAX = 63;
export const DNS1123_SUBDOMAIN_MAX = 253;

const dns1123LabelPattern = new RegExp(`^${LABEL}$`);
const dns1035LabelPattern = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const dns1123SubdomainPattern = new RegExp(`^${LABEL}(\\.${LABEL})*$`);

export const dns1123LabelSchema = z
  .string()
  .min(1)
  .max(DNS1123_LABEL_MAX, `at most ${DNS1123_LABEL_MAX} characters (a Kubernetes DNS-1123 label)`)
  .regex(dns1123LabelPattern, "a Kubernetes DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit");

export const dns1035LabelSchema = z
  .string()
  .min(1)
  .max(DNS1123_LABEL_MAX, `at most ${DNS1123_LABEL_MAX} characters (a Kubernetes Service name)`)
  .regex(dns1035LabelPattern, "a Kubernetes Service name (DNS-1035 label): lowercase letters, digits and '-', starting with a letter, ending with a letter or digit");

export const dns1123SubdomainSchema = z
  .string()
  .min(1)
  .max(DNS1123_SUBDOMAIN_MAX, `at most ${DNS1123_SUBDOMAIN_MAX} characters (a Kubernetes DNS-1123 subdomain)`)
  .regex(dns1123SubdomainPattern, "a Kubernetes name (DNS-1123 subdomain): lowercase letters, digits, '-' and '.', each part starting and ending with a letter or digit");

/** A pod as `namespace/name`, or a node or pod name alone. */
export const qualifiedNameSchema = z
  .string()
  .min(1)
  .max(DNS1123_LABEL_MAX + 1 + DNS1123_SUBDOMAIN_MAX)
  .refine((value) => {
    const slash = value.indexOf('/');
    if (slash < 0) return dns1123SubdomainSchema.safeParse(value).success;
    return dns1123LabelSchema.safeParse(value.slice(0, slash)).success && dns1123SubdomainSchema.safeParse(value.slice(slash + 1)).success;
  }, 'a Kubernetes name, or namespace/name');
