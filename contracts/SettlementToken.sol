// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessRoles} from "AccessRoles.sol";
import {IERC20} from "IERC20.sol";

/// @title SettlementToken
/// @notice ERC-20 token with 6 decimals in which every CCEI market payment is made.
///         Amounts are integer micro-units: 1 token = 1_000_000 units.
/// @dev Written for this project after the ERC-20 standard (EIP-20). Only holders of
///      `MINTER_ROLE` mint; admins grant that role.
contract SettlementToken is IERC20, AccessRoles {
    string public constant name = "CCEI Settlement Token";
    string public constant symbol = "CCEI";
    uint8 public constant decimals = 6;
    /// @notice The role allowed to mint.
    bytes32 public constant MINTER_ROLE = keccak256("MINTER_ROLE");

    uint256 public totalSupply;

    mapping(address account => uint256) public balanceOf;
    mapping(address owner => mapping(address spender => uint256)) public allowance;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);

    error InsufficientBalance(address account, uint256 balance, uint256 needed);
    error InsufficientAllowance(address owner, address spender, uint256 allowance, uint256 needed);

    constructor(address admin) AccessRoles(admin) {}

    /// @notice Creates `value` micro-units for `to`. Only minters may call.
    /// @param to Receiver of the new tokens.
    /// @param value Amount in micro-units.
    function mint(address to, uint256 value) external onlyRole(MINTER_ROLE) {
        if (to == address(0)) revert ZeroAddress();
        totalSupply += value;
        unchecked {
            balanceOf[to] += value;
        }
        emit Transfer(address(0), to, value);
    }

    /// @notice Moves `value` micro-units from the caller to `to`.
    /// @param to Receiver.
    /// @param value Amount in micro-units.
    /// @return Always true; failures revert.
    function transfer(address to, uint256 value) external returns (bool) {
        _transfer(msg.sender, to, value);
        return true;
    }

    /// @notice Lets `spender` move up to `value` micro-units of the caller's tokens.
    /// @param spender The account allowed to spend.
    /// @param value The new allowance (replaces the old one); the maximum uint256 never decreases.
    /// @return Always true.
    function approve(address spender, uint256 value) external returns (bool) {
        if (spender == address(0)) revert ZeroAddress();
        allowance[msg.sender][spender] = value;
        emit Approval(msg.sender, spender, value);
        return true;
    }

    /// @notice Moves `value` micro-units from `from` to `to` against the caller's allowance.
    /// @param from Owner of the tokens.
    /// @param to Receiver.
    /// @param value Amount in micro-units.
    /// @return Always true; failures revert.
    function transferFrom(address from, address to, uint256 value) external returns (bool) {
        uint256 allowed = allowance[from][msg.sender];
        if (allowed != type(uint256).max) {
            if (allowed < value) revert InsufficientAllowance(from, msg.sender, allowed, value);
            unchecked {
                allowance[from][msg.sender] = allowed - value;
            }
        }
        _transfer(from, to, value);
        return true;
    }

    function _transfer(address from, address to, uint256 value) private {
        if (to == address(0)) revert ZeroAddress();
        uint256 balance = balanceOf[from];
        if (balance < value) revert InsufficientBalance(from, balance, value);
        unchecked {
            balanceOf[from] = balance - value;
            balanceOf[to] += value;
        }
        emit Transfer(from, to, value);
    }
}
