/**
 * The deployments' HTTP routes: MLflow scoring and the Open Inference Protocol in front of the
 * deployment runtime, with traffic splitting, shadowing, prediction records and metrics.
 */
export {
  armsServing,
  chooseArm,
  ROUTE_HEADER,
  ROUTING_KEY_HEADER,
  type RoutableArm,
  type RouteRequest,
  routingKeyPoint,
  weightedChoice,
} from './arm-routing.js';
export {
  type PredictionSink,
  REQUEST_ID_HEADER,
  type ServingArm,
  type ServingLease,
  type ServingLeases,
} from './deployment-call.js';
export {
  DEPLOYMENT_METRIC_LABELS,
  type DeploymentMetricLabels,
  DeploymentMetrics,
} from './deployment-metrics.js';
export {
  type DeploymentServingRoutesOptions,
  isServingCall,
  registerDeploymentServingRoutes,
} from './deployment-serving-routes.js';
