// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AdminRoles} from "AdminRoles.sol";

/// @title ParticipantRegistry
/// @notice Who takes part in the CCEI market and in which capacities: operator, compute supplier,
///         network supplier, energy supplier, user (whitepaper §1.3.4, §3.3). Settlement, service
///         agreements and certificates ask this registry; only registered participants trade.
/// @dev Capacities are bits of one byte per account, so one storage read answers any role check.
contract ParticipantRegistry is AdminRoles {
    /// @notice The role that registers and removes participants.
    bytes32 public constant REGISTRAR_ROLE = keccak256("REGISTRAR_ROLE");

    uint8 public constant OPERATOR = 1;
    uint8 public constant COMPUTE_SUPPLIER = 2;
    uint8 public constant NETWORK_SUPPLIER = 4;
    uint8 public constant ENERGY_SUPPLIER = 8;
    uint8 public constant USER = 16;
    uint8 private constant ALL_ROLES = 31;
    /// @notice The most accounts one `registerMany` call takes.
    uint256 public constant MAX_REGISTER_BATCH = 256;

    /// @notice The capacity bits of each account; zero means not registered.
    mapping(address account => uint8) public rolesOf;

    event ParticipantRegistered(address indexed account, uint8 roles);
    event ParticipantRemoved(address indexed account);

    error InvalidRoles(uint8 roles);
    error NotRegistered(address account);
    error BatchTooLarge(uint256 size, uint256 max);

    constructor(address admin) AdminRoles(admin) {}

    /// @notice Registers `account` with the capacities `roles`, replacing any it had.
    /// @param account The participant; not the zero address.
    /// @param roles A non-empty combination of the capacity bits.
    function register(address account, uint8 roles) external onlyRole(REGISTRAR_ROLE) {
        _register(account, roles);
    }

    /// @notice Registers many accounts with the same capacities.
    /// @param accounts The participants; at most `MAX_REGISTER_BATCH`.
    /// @param roles A non-empty combination of the capacity bits.
    function registerMany(address[] calldata accounts, uint8 roles) external onlyRole(REGISTRAR_ROLE) {
        if (accounts.length > MAX_REGISTER_BATCH) revert BatchTooLarge(accounts.length, MAX_REGISTER_BATCH);
        for (uint256 i = 0; i < accounts.length; ++i) {
            _register(accounts[i], roles);
        }
    }

    /// @notice Removes `account` from the market.
    /// @param account A registered participant.
    function deregister(address account) external onlyRole(REGISTRAR_ROLE) {
        if (rolesOf[account] == 0) revert NotRegistered(account);
        delete rolesOf[account];
        emit ParticipantRemoved(account);
    }

    /// @notice Whether `account` is registered in any capacity.
    /// @param account The account asked about.
    /// @return True when registered.
    function isRegistered(address account) external view returns (bool) {
        return rolesOf[account] != 0;
    }

    /// @notice Whether `account` holds every capacity in `roles`.
    /// @param account The account asked about.
    /// @param roles The capacity bits required.
    /// @return True when all of them are held.
    function hasRoles(address account, uint8 roles) external view returns (bool) {
        return roles != 0 && rolesOf[account] & roles == roles;
    }

    /// @notice The index of the first account in `accounts` that is not registered.
    /// @dev Lets a batch check all its participants in one call.
    /// @param accounts The accounts asked about.
    /// @return The first unregistered index, or `accounts.length` when all are registered.
    function firstUnregistered(address[] calldata accounts) external view returns (uint256) {
        for (uint256 i = 0; i < accounts.length; ++i) {
            if (rolesOf[accounts[i]] == 0) return i;
        }
        return accounts.length;
    }

    function _register(address account, uint8 roles) private {
        if (account == address(0)) revert ZeroAddress();
        if (roles == 0 || roles & ~ALL_ROLES != 0) revert InvalidRoles(roles);
        rolesOf[account] = roles;
        emit ParticipantRegistered(account, roles);
    }
}
