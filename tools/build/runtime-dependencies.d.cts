// Types of runtime-dependencies.cjs (plain CommonJS so the build script and the tests both load it as it is).
export interface LockEntry {
  version?: string;
  resolved?: string;
  link?: boolean;
  dev?: boolean;
  devOptional?: boolean;
  optional?: boolean;
  peer?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  [key: string]: unknown;
}
export interface PackageLock {
  name?: string;
  version?: string;
  lockfileVersion: number;
  requires?: boolean;
  packages: Record<string, LockEntry>;
}
export interface PackageJson {
  name: string;
  version: string;
  license?: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  [key: string]: unknown;
}
export interface Metafile {
  outputs: Record<string, { imports: { path: string; kind: string; external?: boolean }[] }>;
}
export function packageNameOf(specifier: string): string | undefined;
export function externalPackages(metafile: Metafile): string[];
export function resolveInLock(packages: Record<string, LockEntry>, from: string, name: string): string | undefined;
export function runtimeDependencies(input: { externals: string[]; rootPackage: PackageJson; lock: PackageLock }): {
  packageJson: PackageJson & { private: true; dependencies: Record<string, string> };
  packageLock: PackageLock;
  packages: string[];
};
