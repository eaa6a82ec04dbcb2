// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessRoles} from "AccessRoles.sol";

/// @title Pausable
/// @notice An emergency stop held by the pauser role. Contracts put `whenNotPaused` only on what
///         creates new obligations; withdrawals and refunds never check it.
/// @dev After OpenZeppelin's Pausable pattern; the code is this project's.
abstract contract Pausable is AccessRoles {
    /// @notice The role that may pause and unpause.
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");

    /// @notice True while paused.
    bool public paused;

    event Paused(address indexed account);
    event Unpaused(address indexed account);

    error EnforcedPause();
    error ExpectedPause();

    modifier whenNotPaused() {
        if (paused) revert EnforcedPause();
        _;
    }

    /// @notice Stops new obligations (batches, deposits, agreements) until `unpause`.
    function pause() external onlyRole(PAUSER_ROLE) {
        if (paused) revert EnforcedPause();
        paused = true;
        emit Paused(msg.sender);
    }

    /// @notice Lifts the pause.
    function unpause() external onlyRole(PAUSER_ROLE) {
        if (!paused) revert ExpectedPause();
        paused = false;
        emit Unpaused(msg.sender);
    }
}
