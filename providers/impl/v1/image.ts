// Provider adapter for hostform:Image (protocol v1): an image pulled into hostform's store
// (src/image/pull.ts), its layers unpacked once per diff_id (src/image/layers.ts). The id is a name
// chosen like other resources' autonames; it is the image's owner in the store, so delete releases
// exactly what this resource used. The digest is pinned: read asks where the ref points now and
// reports it as resolvedDigest, and checks every blob and layer directory, so refresh and drift show
// a moved tag and a removed layer, and the next up pulls or unpacks again.
import type * as pulumi from "@pulumi/pulumi";
import { releaseImage } from "../../../src/image/gc";
import { blobPath, layerDiffDir, storeDir, withStoreLock } from "../../../src/image/layout";
import { layerIntact, unpackLayer } from "../../../src/image/layers";
import { pullImage, resolveImage, validateImageInput, type ImageInput, type ImageRecord } from "../../../src/image/pull";
import { parseRef } from "../../../src/image/ref";
import { blobsPresent, readRecord } from "../../../src/image/store";
import { afterUndo, withContext } from "../../../src/sys/errors";
import { chooseName, type NamedInputs } from "./autoname";
import { collectFailures } from "./checkFailures";
import { sameValue } from "./sameValue";
import { containsUnknown } from "./unknownValue";

/** Inputs as the Image resource sends them (after check: name chosen). */
export interface ImageInputs extends NamedInputs, ImageInput {}

/** Outputs: what was pulled, and what the store and the registry say now. */
export interface ImageOutputs extends ImageInputs {
  /** The normalised ref. */
  refName: string;
  digest: string;
  manifestDigest: string;
  resolvedDigest: string;
  /** The platform of the manifest that runs, "os/arch[/variant]" (the input `platform` is what was asked for). */
  manifestPlatform: string;
  config: ImageRecord["config"];
  size: number;
  /** The unpacked layer directories, topmost first. */
  layerDirs: string[];
  intact: boolean;
  missingLayers: string[];
}

/** Inputs whose change means another image (pulled by update; the resource and its id stay). */
const PULL_KEYS = ["ref", "platform", "auth", "tlsVerify"] as const;

function imageInputOf(inputs: ImageInputs): ImageInput {
  const out: ImageInput = { ref: inputs.ref };
  if (inputs.platform !== undefined && inputs.platform !== null) out.platform = inputs.platform;
  if (inputs.pullPolicy !== undefined && inputs.pullPolicy !== null) out.pullPolicy = inputs.pullPolicy;
  if (inputs.auth !== undefined && inputs.auth !== null) out.auth = inputs.auth;
  if (inputs.tlsVerify !== undefined && inputs.tlsVerify !== null) out.tlsVerify = inputs.tlsVerify;
  return out;
}

/** Unpacks the image's missing layers (bottom first, each seeing the ones below for hard links to them). */
async function unpackImage(store: string, record: ImageRecord): Promise<string[]> {
  return withStoreLock(store, `unpack ${record.ref}`, async () => {
    const below: string[] = [];
    for (const layer of record.layers) {
      const dir = await unpackLayer(store, { diffId: layer.diffId, blobPath: blobPath(store, layer.digest), mediaType: layer.mediaType }, [...below]);
      below.unshift(dir);
    }
    return below;
  });
}

/** What the store holds of an image now: whether it is whole (record, blobs, layer dirs), and which layers are missing. */
function storeHealth(store: string, manifestDigest: string | undefined): { intact: boolean; missingLayers: string[] } {
  const stored = manifestDigest !== undefined ? readRecord(store, manifestDigest) : undefined;
  if (stored === undefined) return { intact: false, missingLayers: [] };
  const missingLayers = stored.layers.filter((l) => !layerIntact(store, l.diffId)).map((l) => l.diffId);
  return { intact: missingLayers.length === 0 && blobsPresent(store, stored), missingLayers };
}

function outputsOf(inputs: ImageInputs, store: string, record: ImageRecord, resolvedDigest: string): ImageOutputs {
  const health = storeHealth(store, record.manifestDigest);
  return {
    ...inputs,
    refName: record.ref,
    digest: record.digest,
    manifestDigest: record.manifestDigest,
    resolvedDigest,
    manifestPlatform: [record.platform.os, record.platform.architecture, record.platform.variant].filter((p) => p !== undefined && p !== "").join("/"),
    config: record.config,
    size: record.size,
    layerDirs: [...record.layers].reverse().map((l) => layerDiffDir(store, l.diffId)),
    intact: health.intact,
    missingLayers: health.missingLayers,
  };
}

/** Pulls (as the policy says), unpacks, and gives the outputs; `id` owns the image in the store. */
async function pullAndUnpack(id: string, inputs: ImageInputs, force: boolean): Promise<ImageOutputs> {
  const store = storeDir();
  const input = imageInputOf(inputs);
  const record = await pullImage(force ? { ...input, pullPolicy: "always" } : input, { store, owner: id });
  try {
    await unpackImage(store, record);
  } catch (err) {
    throw withContext(err, `unpack the layers of ${inputs.ref}`);
  }
  return outputsOf(inputs, store, record, record.digest);
}

/**
 * Whether `up` must pull: another ref (or platform, auth, TLS), a tag refresh or drift found moved, or
 * where the ref points now when asking is cheap or asked for: always for an archive or a layout dir on
 * this host (rebuilt in place, it has a new digest), with pullPolicy "always" for a registry.
 */
async function needsPull(olds: ImageOutputs, news: ImageInputs): Promise<boolean> {
  if (PULL_KEYS.some((k) => !sameValue(olds[k], news[k]))) return true;
  if (olds.resolvedDigest !== undefined && olds.resolvedDigest !== olds.digest) return true;
  if (news.pullPolicy !== "always" && parseRef(news.ref).transport === "docker") return false;
  try {
    return (await resolveImage(imageInputOf(news), { store: storeDir() })).digest !== olds.digest;
  } catch (err) {
    // Gone or unreachable now: the stored image still runs; the next pull names the cause.
    console.log(`warning: image ${news.name ?? news.ref}: could not resolve ${news.ref}, keeping ${olds.digest}: ${(err as Error).message}`);
    return false;
  }
}

/** The v1 Image provider. */
export const provider: pulumi.dynamic.ResourceProvider<ImageInputs, ImageOutputs> = {
  async check(olds, news) {
    const inputs = chooseName(olds, news);
    const known = Object.fromEntries(Object.entries(imageInputOf(inputs)).filter(([, v]) => !containsUnknown(v)));
    const failures = collectFailures([() => void (known.ref !== undefined && validateImageInput(known))]);
    return { inputs, failures };
  },

  async diff(_id, olds, news) {
    if (!sameValue(olds.pullPolicy, news.pullPolicy)) return { changes: true };
    if (await needsPull(olds, news)) return { changes: true };
    // The store decides: a blob or a layer directory gone.
    return { changes: !storeHealth(storeDir(), olds.manifestDigest).intact };
  },

  async create(inputs) {
    const id = inputs.name!;
    try {
      return { id, outs: await pullAndUnpack(id, inputs, false) };
    } catch (err) {
      // A pull that got in before the unpack failed is this id's: nothing may stay in the store for it.
      throw await afterUndo(err, `releasing what image ${id} pulled`, () => releaseImage(storeDir(), id));
    }
  },

  async read(id, props) {
    if (props === undefined) return { id, props };
    const store = storeDir();
    let resolvedDigest = props.resolvedDigest;
    try {
      resolvedDigest = (await resolveImage(imageInputOf(props), { store })).digest;
    } catch (err) {
      // The registry unreachable is not drift of the image: keep what was known, say why.
      console.log(`warning: image ${id}: could not resolve ${props.ref}: ${(err as Error).message}`);
    }
    const health = storeHealth(store, props.manifestDigest);
    return { id, props: { ...props, resolvedDigest, intact: health.intact, missingLayers: health.missingLayers } };
  },

  async update(id, olds, news) {
    // Another ref, a moved tag, or a store missing part of the image: pull (skopeo reuses the blobs it
    // has) and unpack what is missing; the old image is released when it is no longer this one.
    let outs: ImageOutputs;
    try {
      outs = await pullAndUnpack(id, news, await needsPull(olds, news));
    } catch (err) {
      throw await afterUndo(err, `releasing what image ${id} pulled`, () => releaseImage(storeDir(), id, { keep: [olds.manifestDigest] }));
    }
    if (outs.manifestDigest !== olds.manifestDigest) await releaseImage(storeDir(), id, { keep: [outs.manifestDigest] });
    return { outs };
  },

  async delete(id) {
    await releaseImage(storeDir(), id);
  },
};
