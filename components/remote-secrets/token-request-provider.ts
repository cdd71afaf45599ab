/**
 * The one resource of the program that Pulumi's own providers cannot express: a token from the
 * TokenRequest API (`serviceaccounts/<name>/token` is a create-only subresource). A dynamic
 * provider mints it with the operator's `kubectl`, which already speaks every way a kubeconfig
 * authenticates (client certificates, tokens, exec plugins of EKS, GKE and AKS).
 *
 * Why a dynamic provider and not a command resource: its `check` sees the inputs the last run
 * recorded, so the renewal decision needs no state of its own and shows in `pulumi preview`
 * (a renewal is an in-place update that mints; see `diffReaderTokenRequest` for why not a replacement);
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
    KUBECTL_MISSING_FIX,
    operatorKubectlCommand,
    parseRootCa,
    keptTokenOutputs,
    parseTokenRequest,
    renewalOfThisRun,
    rootCaArgs,
    updateMintsToken,
} from "./token-request";

/** How long to wait for `kube-root-ca.crt`, which the controller manager writes into a new namespace. */
const ROOT_CA_WAIT_MS = 120_000;

/** Runs `kubectl` with the kubeconfig on stdin; resolves its stdout. Errors carry stderr, never stdout. */
function kubectl(args: string[], kubeconfig: string): Promise<string> {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const childProcess = require("node:child_process") as typeof import("node:child_process");
    return new Promise((resolve, reject) => {
        const command = operatorKubectlCommand(args);
        const child = childProcess.spawn(command.file, command.args, { stdio: ["pipe", "pipe", "pipe"] });
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        child.stdout.on("data", (b: Buffer) => out.push(b));
        child.stderr.on("data", (b: Buffer) => err.push(b));
        const cannotRun = (why: string) => new Error(`cannot run kubectl (${why}); ${KUBECTL_MISSING_FIX}.`);
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
        // Fixed for the resource's life: a renewal mints in place, so an issue time here would go stale.
        return { id: `${inputs.namespace}/${inputs.serviceAccount}/${inputs.boundSecretName}`, outs };
    },
    // A renewal mints the new token; a new connection or renewal margin keeps the token in use.
    async update(_id: string, olds: ReaderTokenRequestOutputs, news: ReaderTokenRequestInputs) {
        return { outs: updateMintsToken(olds, news) ? await mint(news) : keptTokenOutputs(olds, news) };
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
 * token, CA data and kubeconfig input are secret outputs. The preview that plans a renewal and
 * the up that makes it warn `Re-minting: <why>` on this resource.
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
    /** Why the run that minted the token in use re-minted it; absent for a first mint. */
    declare public readonly renewalReason: pulumi.Output<string | undefined>;
    /** Why this run re-mints the token; `undefined` when it keeps it or mints a first one. */
    public readonly renewalThisRun: pulumi.Output<string | undefined>;

    constructor(name: string, args: ReaderTokenRequestArgs, opts?: pulumi.CustomResourceOptions) {
        // Taken before the registration, so before the check that may set this run's issue time.
        const registeredAt = new Date();
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
        this.renewalThisRun = pulumi
            .all([this.issuedAt, this.renewalReason])
            .apply(([issuedAt, renewalReason]) => renewalOfThisRun({ issuedAt, renewalReason }, registeredAt));
        this.renewalThisRun.apply((reason) => {
            if (reason) pulumi.log.warn(`Re-minting: ${reason}`, this);
        });
    }
}
