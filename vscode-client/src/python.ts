// The Python extension (ms-python.python), when installed: its active environment and its changes.
// Optional: perfsquad never declares it as a dependency and works without it.
import * as vscode from "vscode";

const PYTHON_EXTENSION = "ms-python.python";

/** The slice of the Python extension's API we use (its `environments` API). */
interface PythonEnvironmentsApi {
  environments?: {
    getActiveEnvironmentPath(resource?: vscode.Uri): { id: string; path: string } | undefined;
    resolveEnvironment(
      env: { id: string; path: string } | string,
    ): Promise<{ executable?: { uri?: vscode.Uri } } | undefined>;
    onDidChangeActiveEnvironmentPath?: vscode.Event<unknown>;
  };
}

async function api(): Promise<PythonEnvironmentsApi | undefined> {
  const extension = vscode.extensions.getExtension<PythonEnvironmentsApi>(PYTHON_EXTENSION);
  if (!extension) {
    return undefined;
  }
  try {
    return extension.isActive ? extension.exports : await extension.activate();
  } catch {
    return undefined;
  }
}

/** The active environment's interpreter, or undefined (no Python extension, or no environment). */
export async function activeInterpreter(resource?: vscode.Uri): Promise<string[] | undefined> {
  const environments = (await api())?.environments;
  if (!environments) {
    return undefined;
  }
  try {
    const active = environments.getActiveEnvironmentPath(resource);
    if (!active) {
      return undefined;
    }
    const resolved = await environments.resolveEnvironment(active);
    const executable = resolved?.executable?.uri?.fsPath;
    return executable ? [executable] : undefined;
  } catch {
    return undefined;
  }
}

/** Call `listener` when the Python extension's active environment changes (no-op without it). */
export async function onInterpreterChange(listener: () => void): Promise<vscode.Disposable> {
  const event = (await api())?.environments?.onDidChangeActiveEnvironmentPath;
  return event ? event(() => listener()) : new vscode.Disposable(() => undefined);
}
