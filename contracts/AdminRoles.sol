// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControlDefaultAdminRules} from
    "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";

/// @title AdminRoles
/// @notice The role base every CCEI contract shares: OpenZeppelin's `AccessControlDefaultAdminRules`
///         (one admin, handed over in two steps after a delay, never renounced in one call), plus
///         the project's zero-address error.
abstract contract AdminRoles is AccessControlDefaultAdminRules {
    /// @notice How long an admin hand-over (or the last admin's renouncement) waits, in seconds.
    uint48 public constant ADMIN_TRANSFER_DELAY = 1 days;

    /// @notice An address argument was the zero address.
    error ZeroAddress();

    /// @param admin The first admin (holds `DEFAULT_ADMIN_ROLE`).
    constructor(address admin) AccessControlDefaultAdminRules(ADMIN_TRANSFER_DELAY, admin) {}
}

/// @title AdminPausable
/// @notice `AdminRoles` plus OpenZeppelin's `Pausable`, paused and unpaused by `PAUSER_ROLE`.
abstract contract AdminPausable is AdminRoles, Pausable {
    /// @notice The role that may pause and unpause.
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");

    /// @param admin The first admin.
    constructor(address admin) AdminRoles(admin) {}

    /// @notice Stops the functions marked `whenNotPaused`. Emits `Paused`.
    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
    }

    /// @notice Lifts a pause. Emits `Unpaused`.
    function unpause() external onlyRole(PAUSER_ROLE) {
        _unpause();
    }
}
