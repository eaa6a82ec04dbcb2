// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title SettlementToken
/// @notice ERC-20 token with 6 decimals in which every CCEI market payment is made.
///         Amounts are integer micro-units: 1 token = 1_000_000 units.
/// @dev Written for this project after the ERC-20 standard (EIP-20). Minting is restricted to
///      accounts holding the minter role, which only the admin grants or revokes.
contract SettlementToken {
    string public constant name = "CCEI Settlement Token";
    string public constant symbol = "CCEI";
    uint8 public constant decimals = 6;

    uint256 public totalSupply;
    address public admin;

    mapping(address account => uint256) public balanceOf;
    mapping(address owner => mapping(address spender => uint256)) public allowance;
    mapping(address account => bool) public isMinter;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);
    event MinterSet(address indexed account, bool enabled);
    event AdminTransferred(address indexed previousAdmin, address indexed newAdmin);

    error NotAdmin(address caller);
    error NotMinter(address caller);
    error ZeroAddress();
    error InsufficientBalance(address account, uint256 balance, uint256 needed);
    error InsufficientAllowance(address owner, address spender, uint256 allowance, uint256 needed);

    constructor(address admin_) {
        if (admin_ == address(0)) revert ZeroAddress();
        admin = admin_;
        emit AdminTransferred(address(0), admin_);
    }

    modifier onlyAdmin() {
        if (msg.sender != admin) revert NotAdmin(msg.sender);
        _;
    }

    /// @notice Grants or revokes the minter role.
    /// @param account The account whose role changes.
    /// @param enabled True to grant, false to revoke.
    function setMinter(address account, bool enabled) external onlyAdmin {
        if (account == address(0)) revert ZeroAddress();
        isMinter[account] = enabled;
        emit MinterSet(account, enabled);
    }

    /// @notice Hands the admin role to another account.
    /// @param newAdmin The new admin; must not be the zero address.
    function transferAdmin(address newAdmin) external onlyAdmin {
        if (newAdmin == address(0)) revert ZeroAddress();
        emit AdminTransferred(admin, newAdmin);
        admin = newAdmin;
    }

    /// @notice Creates `value` micro-units for `to`. Only minters may call.
    /// @param to Receiver of the new tokens.
    /// @param value Amount in micro-units.
    function mint(address to, uint256 value) external {
        if (!isMinter[msg.sender]) revert NotMinter(msg.sender);
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
    /// @param value The new allowance (replaces the old one).
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
