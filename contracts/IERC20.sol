// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title IERC20
/// @notice The part of ERC-20 (EIP-20) the escrow contracts use.
interface IERC20 {
    /// @notice Moves `value` from the caller to `to`.
    /// @param to Receiver.
    /// @param value Amount in the token's smallest unit.
    /// @return True on success.
    function transfer(address to, uint256 value) external returns (bool);

    /// @notice Moves `value` from `from` to `to` against the caller's allowance.
    /// @param from Owner of the tokens.
    /// @param to Receiver.
    /// @param value Amount in the token's smallest unit.
    /// @return True on success.
    function transferFrom(address from, address to, uint256 value) external returns (bool);

    /// @notice The token balance of `account`.
    /// @param account The holder.
    /// @return The balance.
    function balanceOf(address account) external view returns (uint256);
}
