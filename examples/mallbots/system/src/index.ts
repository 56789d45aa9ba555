export {
  defaultRoles,
  HERALD_PORT,
  MallbotsSystem,
  REPO_ROOT,
  type Role,
  type SystemOptions,
  startSystem,
} from "./system.js";
