// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title BatchMerkle
/// @notice RFC 9162 (Certificate Transparency 2.0, section 2.1.1) Merkle tree hash over keccak-256:
///         leaf = keccak256(0x00 || data), node = keccak256(0x01 || left || right), a list of n > 1
///         leaves split at the largest power of two below n. Computed bottom-up: neighbours are
///         paired level by level and a level's last unpaired node is carried up unchanged, which
///         gives the same tree. `ledger.merkle` is the Python twin; its tests compare the two.
library BatchMerkle {
    bytes1 internal constant LEAF_PREFIX = 0x00;
    bytes1 internal constant NODE_PREFIX = 0x01;

    /// @notice keccak256(0x00 || data).
    function leafHash(bytes memory data) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(LEAF_PREFIX, data));
    }

    /// @notice keccak256(0x01 || left || right).
    function nodeHash(bytes32 left, bytes32 right) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(NODE_PREFIX, left, right));
    }

    /// @notice The tree hash of the leaf hashes `hashes` (overwritten in place).
    /// @param hashes Each leaf's `leafHash`, in order.
    /// @return The root; keccak256("") for no leaves.
    function root(bytes32[] memory hashes) internal pure returns (bytes32) {
        uint256 n = hashes.length;
        if (n == 0) return keccak256("");
        while (n > 1) {
            uint256 next = 0;
            for (uint256 i = 0; i + 1 < n; i += 2) {
                hashes[next++] = nodeHash(hashes[i], hashes[i + 1]);
            }
            if (n % 2 == 1) hashes[next++] = hashes[n - 1];
            n = next;
        }
        return hashes[0];
    }
}
