/** Objects in `namespace/name` order, so that every build of the index resolves conflicts alike. */
export function sortByKey<T extends { metadata: { namespace?: string; name: string } }>(objects: readonly T[]): T[] {
  return objects
    .map((object) => ({ key: `${object.metadata.namespace ?? ''}/${object.metadata.name}`, object }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map(({ object }) => object);
}
