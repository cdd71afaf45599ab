/**
 * A real Kubernetes control plane on loopback for the bed tests: etcd, kube-apiserver and
 * kube-controller-manager (which publishes `kube-root-ca.crt` into every namespace), from the
 * binaries `scripts/bed-build.sh` builds. No nodes, no pods: only the API and its controllers.
 * Certificates and keys are made per run in a scratch directory that is removed afterwards.
 */
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { kubectlCommand } from "../../components/remote-secrets/token-request";

/** Where the bed's binaries are: `$BED_BIN`, else the build script's default cache. */
export function bedBinDir(): string {
    return (
        process.env.BED_BIN ??
        path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache"), "istio-multicluster-bed", "bin")
    );
}

/** Why the bed cannot run here, or undefined when it can. */
export function bedUnavailable(): string | undefined {
    const missing = ["kube-apiserver", "kube-controller-manager", "kubectl"].filter(
        (b) => !fs.existsSync(path.join(bedBinDir(), b)),
    );
    if (missing.length > 0) return `${missing.join(", ")} not in ${bedBinDir()} (run scripts/bed-build.sh)`;
    try {
        execFileSync("etcd", ["--version"], { stdio: "ignore" });
    } catch {
        return "etcd is not installed (Debian: etcd-server)";
    }
    return undefined;
}

async function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.listen(0, "127.0.0.1", () => {
            const { port } = server.address() as net.AddressInfo;
            server.close(() => resolve(port));
        });
        server.on("error", reject);
    });
}

function openssl(args: string[], cwd: string): void {
    execFileSync("openssl", args, { cwd, stdio: "ignore" });
}

/** CA, serving certificate for 127.0.0.1, an admin client certificate and the service-account key. */
function makePki(dir: string): void {
    openssl(
        [
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "2",
            "-subj",
            "/CN=bed-ca",
        ],
        dir,
    );
    const leaf = (name: string, subject: string, ext?: string) => {
        openssl(
            ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", subject],
            dir,
        );
        if (ext) fs.writeFileSync(path.join(dir, `${name}.ext`), ext);
        openssl(
            [
                "x509",
                "-req",
                "-in",
                `${name}.csr`,
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                `${name}.crt`,
                "-days",
                "2",
                ...(ext ? ["-extfile", `${name}.ext`] : []),
            ],
            dir,
        );
    };
    leaf("server", "/CN=kube-apiserver", "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
    leaf("admin", "/CN=bed-admin/O=system:masters");
    openssl(["genrsa", "-out", "sa.key", "2048"], dir);
}

/** A running control plane. */
export interface BedCluster {
    /** `https://127.0.0.1:<port>`. */
    server: string;
    /** Kubeconfig content with the admin user (client certificate), context `bed`. */
    adminKubeconfig: string;
    /** The same kubeconfig as a file of this run's scratch directory, for tools that take only a path (helm). */
    adminKubeconfigPath: string;
    /** Runs the bed's kubectl with `kubeconfig` (default the admin's) on stdin. */
    kubectl(args: string[], kubeconfig?: string): { code: number; stdout: string; stderr: string };
    /** `kubectl apply` (plus `args`, e.g. `--dry-run=server`) of `objects` as one List, as the admin. */
    applyObjects(objects: object[], args?: string[]): { code: number; stdout: string; stderr: string };
    /** This run's scratch directory (test material only), removed by {@link stop}. */
    scratchDir: string;
    /** Stops every process and removes the scratch directory. */
    stop(): Promise<void>;
}

async function waitFor(what: string, ready: () => boolean, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!ready()) {
        if (Date.now() > deadline) throw new Error(`bed: ${what} not ready after ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 500));
    }
}

/**
 * Starts etcd, kube-apiserver and kube-controller-manager. `apiServerFlags` are added to the API
 * server's (e.g. `--service-account-max-token-expiration=48h`).
 */
export async function startBedCluster(apiServerFlags: string[] = []): Promise<BedCluster> {
    const bin = bedBinDir();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bed-"));
    makePki(dir);
    const [etcdClient, etcdPeer, apiPort, kcmPort] = [
        await freePort(),
        await freePort(),
        await freePort(),
        await freePort(),
    ];
    const processes: ChildProcess[] = [];
    const run = (cmd: string, args: string[], log: string) => {
        const out = fs.openSync(path.join(dir, log), "w");
        const child = spawn(cmd, args, { cwd: dir, stdio: ["ignore", out, out] });
        processes.push(child);
        return child;
    };
    run(
        "etcd",
        [
            `--data-dir=${path.join(dir, "etcd")}`,
            `--listen-client-urls=http://127.0.0.1:${etcdClient}`,
            `--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
            `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
            `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
            `--initial-cluster=default=http://127.0.0.1:${etcdPeer}`,
        ],
        "etcd.log",
    );
    run(
        path.join(bin, "kube-apiserver"),
        [
            `--etcd-servers=http://127.0.0.1:${etcdClient}`,
            `--secure-port=${apiPort}`,
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            "--tls-cert-file=server.crt",
            "--tls-private-key-file=server.key",
            "--client-ca-file=ca.crt",
            "--service-account-key-file=sa.key",
            "--service-account-signing-key-file=sa.key",
            "--service-account-issuer=https://kubernetes.default.svc",
            "--authorization-mode=RBAC",
            "--service-cluster-ip-range=10.96.0.0/16",
            ...apiServerFlags,
        ],
        "apiserver.log",
    );
    const server = `https://127.0.0.1:${apiPort}`;
    const b64 = (f: string) => fs.readFileSync(path.join(dir, f)).toString("base64");
    const adminKubeconfig = [
        "apiVersion: v1",
        "kind: Config",
        "clusters:",
        "- name: bed",
        `  cluster: {server: "${server}", certificate-authority-data: ${b64("ca.crt")}}`,
        "users:",
        "- name: bed-admin",
        `  user: {client-certificate-data: ${b64("admin.crt")}, client-key-data: ${b64("admin.key")}}`,
        "contexts:",
        "- name: bed",
        "  context: {cluster: bed, user: bed-admin}",
        "current-context: bed",
        "",
    ].join("\n");
    const adminKubeconfigPath = path.join(dir, "admin.kubeconfig");
    fs.writeFileSync(adminKubeconfigPath, adminKubeconfig, { mode: 0o600 });

    const kubectl: BedCluster["kubectl"] = (args, kubeconfig = adminKubeconfig) => {
        try {
            const command = kubectlCommand(path.join(bin, "kubectl"), ["--kubeconfig=/dev/stdin", ...args]);
            const stdout = execFileSync(command.file, command.args, {
                input: kubeconfig,
                encoding: "utf8",
                stdio: ["pipe", "pipe", "pipe"],
            });
            return { code: 0, stdout, stderr: "" };
        } catch (e) {
            const err = e as { status?: number; stdout?: string; stderr?: string };
            return { code: err.status ?? 1, stdout: err.stdout ?? "", stderr: err.stderr ?? "" };
        }
    };
    let applied = 0;
    const applyObjects: BedCluster["applyObjects"] = (objects, args = []) => {
        const file = path.join(dir, `objects-${applied++}.json`);
        fs.writeFileSync(file, JSON.stringify({ apiVersion: "v1", kind: "List", items: objects }));
        return kubectl(["apply", ...args, "-f", file]);
    };
    const startControllerManager = () =>
        run(
            path.join(bin, "kube-controller-manager"),
            [
                `--kubeconfig=${path.join(dir, "admin.kubeconfig")}`,
                `--secure-port=${kcmPort}`,
                "--bind-address=127.0.0.1",
                "--root-ca-file=ca.crt",
                "--service-account-private-key-file=sa.key",
                "--use-service-account-credentials=false",
                "--controllers=root-ca-certificate-publisher-controller,serviceaccount-controller,serviceaccount-token-controller,garbage-collector-controller,namespace-controller",
                "--leader-elect=false",
            ],
            "controller-manager.log",
        );
    // The processes are this run's own and hold nothing worth a graceful shutdown; a SIGTERM'd
    // kube-apiserver whose etcd is gone can wait for minutes, and would keep the test process alive.
    const stop = async () => {
        await Promise.all(
            processes.map(
                (p) =>
                    new Promise<void>((resolve) => {
                        if (p.exitCode !== null || p.signalCode !== null) return resolve();
                        p.once("exit", () => resolve());
                        p.kill("SIGKILL");
                    }),
            ),
        );
        fs.rmSync(dir, { recursive: true, force: true });
    };
    try {
        await waitFor("kube-apiserver", () => kubectl(["get", "--raw=/readyz"]).code === 0, 90_000);
        startControllerManager();
        await waitFor(
            "kube-root-ca.crt in default",
            () => kubectl(["-n", "default", "get", "configmap", "kube-root-ca.crt"]).code === 0,
            90_000,
        );
    } catch (e) {
        const logs = ["apiserver.log", "controller-manager.log"]
            .map((f) => path.join(dir, f))
            .filter((f) => fs.existsSync(f))
            .map((f) => `${path.basename(f)}: ${fs.readFileSync(f, "utf8").split("\n").slice(-5).join("\n")}`);
        await stop();
        throw new Error(`${(e as Error).message}\n${logs.join("\n")}`, { cause: e });
    }
    return { server, adminKubeconfig, adminKubeconfigPath, kubectl, applyObjects, scratchDir: dir, stop };
}
