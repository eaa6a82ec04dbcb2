// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title AccessRoles
/// @notice Role-based access control: accounts hold named roles; holders of `ADMIN_ROLE` grant and
///         revoke every role.
/// @dev After the role pattern of OpenZeppelin's AccessControl (one admin role for all roles here);
///      the code is this project's.
abstract contract AccessRoles {
    /// @notice The role that grants and revokes roles.
    bytes32 public constant ADMIN_ROLE = 0x00;

    mapping(bytes32 role => mapping(address account => bool)) private _roles;

    event RoleGranted(bytes32 indexed role, address indexed account, address indexed sender);
    event RoleRevoked(bytes32 indexed role, address indexed account, address indexed sender);

    error MissingRole(bytes32 role, address account);
    error ZeroAddress();

    constructor(address admin) {
        if (admin == address(0)) revert ZeroAddress();
        _setRole(ADMIN_ROLE, admin, true);
    }

    modifier onlyRole(bytes32 role) {
        if (!_roles[role][msg.sender]) revert MissingRole(role, msg.sender);
        _;
    }

    /// @notice Whether `account` holds `role`.
    /// @param role The role identifier (keccak256 of its name; 0 for the admin role).
    /// @param account The account asked about.
    /// @return True when the account holds the role.
    function hasRole(bytes32 role, address account) public view returns (bool) {
        return _roles[role][account];
    }

    /// @notice Grants `role` to `account`. Only admins may call.
    /// @param role The role to grant.
    /// @param account The receiving account; not the zero address.
    function grantRole(bytes32 role, address account) external onlyRole(ADMIN_ROLE) {
        if (account == address(0)) revert ZeroAddress();
        _setRole(role, account, true);
    }

    /// @notice Revokes `role` from `account`. Only admins may call.
    /// @param role The role to revoke.
    /// @param account The account losing the role.
    function revokeRole(bytes32 role, address account) external onlyRole(ADMIN_ROLE) {
        _setRole(role, account, false);
    }

    /// @notice Gives up one of the caller's own roles.
    /// @param role The role the caller no longer wants.
    function renounceRole(bytes32 role) external {
        if (!_roles[role][msg.sender]) revert MissingRole(role, msg.sender);
        _setRole(role, msg.sender, false);
    }

    function _setRole(bytes32 role, address account, bool enabled) private {
        if (_roles[role][account] == enabled) return;
        _roles[role][account] = enabled;
        if (enabled) emit RoleGranted(role, account, msg.sender);
        else emit RoleRevoked(role, account, msg.sender);
    }
}
