// The entry of dist/isomorphic-git.js: isomorphic-git on its own, loaded by the other bundles on first write.
export * from 'isomorphic-git';
