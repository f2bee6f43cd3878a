export { CLOUD_CLUSTER_INVENTORY, DUAL_STACK_INVENTORY, indexFromInventoryFile, LAB_SEEDS_INVENTORY } from './testing/inventory-fixtures';
export {
  KubeApiReplayServer,
  recordedLabLists,
  type KubeApiList,
  type KubeApiObject,
  type RecordedRequest,
  type WatchEventType,
} from './testing/kube-api-replay-server';
export { waitFor } from './testing/wait-for';
