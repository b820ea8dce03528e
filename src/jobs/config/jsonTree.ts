// The syntax tree of jsonc-parser, read as the configuration means it: with duplicate keys, the last wins.
import type { Node } from 'jsonc-parser';

/** The value of a node as ajv should see it: the last of duplicate keys wins, and `__proto__` is a plain key. */
export function toValue(node: Node): unknown {
  if (node.type === 'object') {
    const obj = Object.create(null) as Record<string, unknown>;
    for (const prop of node.children ?? []) {
      const [key, value] = prop.children ?? [];
      if (value) {
        obj[key.value as string] = toValue(value);
      }
    }
    return obj;
  }
  if (node.type === 'array') {
    return (node.children ?? []).map(toValue);
  }
  return node.value;
}

/** The last property named `name` (the one whose value counts), as a `property` node. */
export function property(node: Node, name: string): Node | undefined {
  if (node.type !== 'object') {
    return undefined;
  }
  return (node.children ?? []).filter((p) => p.children?.[0].value === name && p.children.length === 2).pop();
}

/** The node at path `at` below `root`: object keys and array indexes, as in ajv's `instancePath`. */
export function nodeAt(root: Node, at: string[]): Node | undefined {
  let node: Node | undefined = root;
  for (const segment of at) {
    node = node?.type === 'array' ? node.children?.[Number(segment)] : node && property(node, segment)?.children?.[1];
  }
  return node;
}
