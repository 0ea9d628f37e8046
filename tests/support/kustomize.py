"""A renderer for the subset of kustomize that ``deploy/k8s`` uses, so the manifests are
checked without the kustomize binary or a network: resources (files and directories),
namespace, labels (pairs), images and JSON 6902 patches with a target. Anything else in a
kustomization fails loudly rather than being ignored."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

KNOWN = {"apiVersion", "kind", "resources", "namespace", "labels", "images", "patches"}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding"}
Resource = dict[str, Any]


class Unsupported(ValueError):
    pass


def render(directory: Path) -> list[Resource]:
    spec = yaml.safe_load((directory / "kustomization.yaml").read_text())
    if unknown := set(spec) - KNOWN:
        raise Unsupported(f"{directory}: kustomization fields {sorted(unknown)}")
    resources: list[Resource] = []
    for entry in spec.get("resources", []):
        path = (directory / entry).resolve()
        if path.is_dir():
            resources += render(path)
        else:
            resources += [r for r in yaml.safe_load_all(path.read_text()) if r]
    for resource in resources:
        _apply_labels(resource, spec.get("labels", []))
        _apply_images(resource, spec.get("images", []))
        if "namespace" in spec and resource["kind"] not in CLUSTER_SCOPED:
            resource["metadata"]["namespace"] = spec["namespace"]
    for patch in spec.get("patches", []):
        _apply_patch(resources, patch)
    return resources


def _apply_labels(resource: Resource, labels: list[dict[str, Any]]) -> None:
    for entry in labels:
        if set(entry) - {"pairs"}:
            raise Unsupported(f"labels options {sorted(set(entry) - {'pairs'})}")
        resource["metadata"].setdefault("labels", {}).update(entry["pairs"])


def containers(resource: Resource) -> list[dict[str, Any]]:
    pod = resource.get("spec", {}).get("template", {}).get("spec", {})
    return [*pod.get("initContainers", []), *pod.get("containers", [])]


def _apply_images(resource: Resource, images: list[dict[str, str]]) -> None:
    for container in containers(resource):
        name, _, _tag = container["image"].partition(":")
        for image in images:
            if image["name"] == name:
                new = image.get("newName", name)
                container["image"] = f"{new}:{image['newTag']}" if "newTag" in image else new


def _apply_patch(resources: list[Resource], patch: dict[str, Any]) -> None:
    target = patch["target"]
    if set(target) - {"kind", "name"} or set(patch) - {"target", "patch"}:
        raise Unsupported(f"patch form {patch}")
    operations = yaml.safe_load(patch["patch"])
    matched = [
        r
        for r in resources
        if r["kind"] == target["kind"]
        and target.get("name", r["metadata"]["name"]) == r["metadata"]["name"]
    ]
    if not matched:
        raise Unsupported(f"patch target {target} matches nothing")
    for resource in matched:
        for op in operations:
            _operate(resource, op)


def _operate(resource: Resource, op: dict[str, Any]) -> None:
    if op["op"] not in {"replace", "add"}:
        raise Unsupported(f"patch operation {op['op']}")
    *parents, last = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].split("/")[1:]]
    node: Any = resource
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if isinstance(node, list):
        index = len(node) if last == "-" else int(last)
        if op["op"] == "add":
            node.insert(index, copy.deepcopy(op["value"]))
        else:
            node[index] = copy.deepcopy(op["value"])
    else:
        if op["op"] == "replace" and last not in node:
            raise Unsupported(f"replace of a missing {op['path']}")
        node[last] = copy.deepcopy(op["value"])
