/**
 * The one resource of the program that Pulumi's own providers cannot express: a token from the
 * TokenRequest API (`serviceaccounts/<name>/token` is a create-only subresource). A dynamic
 * provider mints it with the operator's `kubectl`, which already speaks every way a kubeconfig
 * authenticates (client certificates, tokens, exec plugins of EKS, GKE and AKS).
 *
 * Why a dynamic provider and not a command resource: its `check` sees the inputs the last run
 * recorded, so the renewal decision needs no state of its own and shows in `pulumi preview`;
 * `kubectl` gets the kubeconfig on stdin and answers on stdout inside the provider process, so
 * neither the kubeconfig nor the token is ever on a command line, in a file or in a log.
 */
import * as pulumi from "@pulumi/pulumi";
import {
    ReaderTokenRequestInputs,
    ReaderTokenRequestOutputs,
    checkReaderTokenRequest,
    createTokenArgs,
    diffReaderTokenRequest,
    kubectlCommand,
    parseRootCa,
    parseTokenRequest,
    rootCaArgs,
} from "./token-request";

/** How long to wait for `kube-root-ca.crt`, which the controller manager writes into a new namespace. */
const ROOT_CA_WAIT_MS = 120_000;

/** Runs `kubectl` with the kubeconfig on stdin; resolves its stdout. Errors carry stderr, never stdout. */
function kubectl(args: string[], kubeconfig: string): Promise<string> {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const childProcess = require("node:child_process") as typeof import("node:child_process");
    return new Promise((resolve, reject) => {
        const command = kubectlCommand(process.env.ISTIO_MULTICLUSTER_KUBECTL ?? "kubectl", args);
        const child = childProcess.spawn(command.file, command.args, { stdio: ["pipe", "pipe", "pipe"] });
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        child.stdout.on("data", (b: Buffer) => out.push(b));
        child.stderr.on("data", (b: Buffer) => err.push(b));
        const cannotRun = (why: string) =>
            new Error(`cannot run kubectl (${why}); install it, or set ISTIO_MULTICLUSTER_KUBECTL.`);
        child.on("error", (e) => reject(cannotRun(e.message)));
        child.on("close", (code) => {
            const stderr = Buffer.concat(err).toString("utf8").trim();
            if (code === 0) resolve(Buffer.concat(out).toString("utf8"));
            // 127: the shell found no kubectl to exec.
            else if (code === 127) reject(cannotRun(stderr));
            else {
                const verb = args.filter((a) => !a.startsWith("--")).join(" ");
                reject(
                    Object.assign(new Error(`kubectl ${verb} failed: ${stderr}`), {
                        notFound: /NotFound|not found/.test(stderr),
                    }),
                );
            }
        });
        child.stdin.end(kubeconfig);
    });
}

async function rootCaData(inputs: ReaderTokenRequestInputs): Promise<string> {
    const deadline = Date.now() + ROOT_CA_WAIT_MS;
    for (;;) {
        try {
            return parseRootCa(await kubectl(rootCaArgs(inputs), inputs.kubeconfig), inputs.cluster);
        } catch (e) {
            // Only a ConfigMap not published yet is worth waiting for; anything else fails at once.
            if (!(e as { notFound?: boolean }).notFound || Date.now() > deadline) throw e;
            await new Promise((r) => setTimeout(r, 2_000));
        }
    }
}

async function mint(inputs: ReaderTokenRequestInputs): Promise<ReaderTokenRequestOutputs> {
    const caData = await rootCaData(inputs);
    const requestedAt = new Date();
    const answer = await kubectl(createTokenArgs(inputs), inputs.kubeconfig);
    const { token, expiresAt } = parseTokenRequest(answer, inputs, requestedAt);
    return { ...inputs, token, expiresAt, caData };
}

/** The provider behind {@link ReaderTokenRequest}. Exported so the bed can drive it against real API servers. */
export const readerTokenRequestProvider: pulumi.dynamic.ResourceProvider = {
    async check(olds: Partial<ReaderTokenRequestInputs>, news: ReaderTokenRequestInputs) {
        return { inputs: checkReaderTokenRequest(olds, news, new Date()) };
    },
    async diff(_id: string, olds: ReaderTokenRequestOutputs, news: ReaderTokenRequestInputs) {
        return diffReaderTokenRequest(olds, news);
    },
    async create(inputs: ReaderTokenRequestInputs) {
        const outs = await mint(inputs);
        return {
            id: `${inputs.namespace}/${inputs.serviceAccount}/${inputs.boundSecretName}/${inputs.issuedAt}`,
            outs,
        };
    },
    // Only the connection or the renewal margin changed: the token in use stays.
    async update(_id: string, olds: ReaderTokenRequestOutputs, news: ReaderTokenRequestInputs) {
        return { outs: { ...olds, ...news, token: olds.token, expiresAt: olds.expiresAt, caData: olds.caData } };
    },
    // A bound token cannot be deleted; it ends at its expiry, or within seconds of its bound Secret going.
    async delete() {},
};

/** Arguments of {@link ReaderTokenRequest}: the inputs, as Pulumi inputs. */
export type ReaderTokenRequestArgs = {
    [K in keyof Omit<ReaderTokenRequestInputs, "issuedAt" | "renewalReason">]: pulumi.Input<
        ReaderTokenRequestInputs[K]
    >;
};

/**
 * One reader token minted through the TokenRequest API (`pulumi-nodejs:dynamic:Resource`). Its
 * token, CA data and kubeconfig input are secret outputs.
 */
export class ReaderTokenRequest extends pulumi.dynamic.Resource {
    /** The bearer token. Secret. */
    declare public readonly token: pulumi.Output<string>;
    /** Base64 PEM of the watched cluster's root CA. Secret (it travels with the token). */
    declare public readonly caData: pulumi.Output<string>;
    /** Expiry the API server granted, RFC 3339. */
    declare public readonly expiresAt: pulumi.Output<string>;
    /** Issue time of the token in use, RFC 3339. */
    declare public readonly issuedAt: pulumi.Output<string>;
    /** Why this run re-mints the token; absent when it does not. */
    declare public readonly renewalReason: pulumi.Output<string | undefined>;

    constructor(name: string, args: ReaderTokenRequestArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            readerTokenRequestProvider,
            name,
            {
                ...args,
                kubeconfig: pulumi.secret(args.kubeconfig),
                token: undefined,
                caData: undefined,
                expiresAt: undefined,
                issuedAt: undefined,
                renewalReason: undefined,
            },
            { ...opts, additionalSecretOutputs: ["token", "caData", "kubeconfig"] },
        );
    }
}
