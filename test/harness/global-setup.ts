import type { TestProject } from "vitest/node";
import { startControlPlane, type ControlPlane } from "./control-plane.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** Admin kubeconfig of the run's control plane; read it with inject("kubeconfigPath"). */
    kubeconfigPath: string;
  }
}

let controlPlane: ControlPlane | undefined;

/**
 * vitest globalSetup: starts ONE etcd + kube-apiserver + kube-controller-manager for the whole run and provides
 * its admin kubeconfig path. With ROUTEWISE_TEST_KUBECONFIG set (e.g. from `npm run control-plane`), reuses
 * that cluster instead.
 */
export async function setup(project: TestProject): Promise<void> {
  const existing = process.env["ROUTEWISE_TEST_KUBECONFIG"];
  if (existing !== undefined && existing !== "") {
    project.provide("kubeconfigPath", existing);
    return;
  }
  controlPlane = await startControlPlane();
  console.log(
    `[control-plane] ${controlPlane.server} ready in ${controlPlane.startupMs} ms` +
      ` (kube-controller-manager ${controlPlane.controllerManagerStartupMs} ms of it)`,
  );
  project.provide("kubeconfigPath", controlPlane.kubeconfigPath);
}

export async function teardown(): Promise<void> {
  const plane = controlPlane;
  controlPlane = undefined;
  await plane?.stop();
}
